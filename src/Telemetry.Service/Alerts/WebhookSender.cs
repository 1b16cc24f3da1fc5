using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Telemetry.Contracts;
using Telemetry.Domain.Observability;

namespace Telemetry.Service.Alerts;

/// <summary>
/// Posts alert steps to the configured webhooks as JSON, each webhook in its own queue so a slow receiver delays
/// only itself, in order, retried with exponential backoff and jitter (Polly) up to <c>MaxAttempts</c>. A step that
/// still fails is given up, counted and logged with the reason. The queues live in memory: steps not yet delivered
/// when the service stops are not sent after the restart (the alert itself is persisted; see docs/alerts.md).
/// </summary>
public sealed class WebhookSender : BackgroundService
{
    readonly IHttpClientFactory httpClients;
    readonly ILogger<WebhookSender> logger;
    readonly List<Hook> hooks;

    readonly TelemetryMetrics metrics;

    public WebhookSender(IHttpClientFactory httpClients, IOptions<AlertOptions> options, TelemetryMetrics metrics, ILogger<WebhookSender> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.httpClients = httpClients;
        this.metrics = metrics;
        this.logger = logger;
        hooks = [.. options.Value.Webhooks.Where(w => w.Url is not null).Select(w => new Hook(w))];
        foreach (var skipped in options.Value.Webhooks.Where(w => w.Url is null))
        {
            logger.LogWarning("Webhook {Webhook} has no Url and is not used", skipped.Name);
        }
    }

    public const string HttpClientName = "webhooks";

    public void Enqueue(AlertStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        foreach (var hook in hooks.Where(h => h.Wants(step)))
        {
            hook.Queue.Writer.TryWrite(step);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(hooks.Select(h => RunAsync(h, stoppingToken)));

    async Task RunAsync(Hook hook, CancellationToken stoppingToken)
    {
        var pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(0, hook.Options.MaxAttempts - 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = hook.Options.MaxDelay,
                ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>().Handle<TaskCanceledException>(_ => !stoppingToken.IsCancellationRequested),
                OnRetry = args =>
                {
                    logger.LogWarning("Webhook {Webhook}: attempt {Attempt} failed ({Error}); retrying in {Delay}",
                        hook.Options.Name, args.AttemptNumber + 1, args.Outcome.Exception?.Message, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

        await foreach (var step in hook.Queue.Reader.ReadAllAsync(stoppingToken))
        {
            var body = AlertPayload.Serialize(step);
            try
            {
                await pipeline.ExecuteAsync(async token => await PostAsync(hook, body, token), stoppingToken);
                metrics.WebhookDeliveries.Add(1, new KeyValuePair<string, object?>("outcome", "delivered"));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                metrics.WebhookDeliveries.Add(1, new KeyValuePair<string, object?>("outcome", "given_up"));
                logger.LogError("Webhook {Webhook}: gave up delivering alert {AlertId} ({Event}) after {Attempts} attempts: {Error}",
                    hook.Options.Name, step.Alert.Id, step.Event, hook.Options.MaxAttempts, ex.Message);
            }
        }
    }

    async Task PostAsync(Hook hook, byte[] body, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(hook.Options.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, hook.Options.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (!string.IsNullOrEmpty(hook.Options.Secret))
        {
            var signature = HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(hook.Options.Secret), body);
            request.Headers.Add("X-Campus-Signature", "sha256=" + Convert.ToHexStringLower(signature));
        }

        using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
        if (!response.IsSuccessStatusCode)
        {
            // 4xx other than 408/429 will not get better by retrying, but a misconfigured receiver is often fixed
            // within the retry window; every status is retried and the final failure names it.
            throw new HttpRequestException($"the receiver answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
        }
    }

    sealed class Hook(WebhookOptions options)
    {
        public WebhookOptions Options { get; } = options;

        public Channel<AlertStep> Queue { get; } = Channel.CreateUnbounded<AlertStep>(new UnboundedChannelOptions { SingleReader = true });

        public bool Wants(AlertStep step) =>
            step.Alert.Severity >= Options.MinSeverity
            && (Options.Events.Count == 0 || Options.Events.Contains(step.Event));
    }
}
