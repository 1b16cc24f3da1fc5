using System.Net.Http.Headers;
using System.Security.Cryptography;
using Telemetry.Contracts;
using Telemetry.Grains.Alerts.Delivery;

namespace Telemetry.Service.Alerts;

/// <summary>
/// One configured webhook (<c>Alerts:Webhooks:&lt;n&gt;</c>) as an alert destination: its outbox grain
/// (<see cref="AlertOutboxGrain"/>, key <see cref="Name"/>) keeps, orders and retries the notifications; this class
/// only filters (<see cref="WebhookOptions.Wants"/>) and makes one POST per call: the payload JSON with <c>key</c>,
/// <c>kind</c> and <c>repeat</c>, header <c>Idempotency-Key</c>, and with a secret <c>X-Campus-Signature:
/// sha256=HMAC(secret, body)</c>. A network error, a timeout or any non-2xx answer throws, so the outbox retries
/// (4xx too: a misconfigured receiver is often fixed within <c>MaxAge</c>; the log names the status).
/// </summary>
public sealed class WebhookDestination(WebhookOptions options, IHttpClientFactory httpClients) : IAlertDestination
{
    public const string HttpClientName = "webhooks";

    public string Name => options.Name;

    public TimeSpan? RefreshInterval => null;

    public AlertDeliveryPolicy Delivery { get; } = new(options.MaxDelay, options.MaxAge, options.MaxAttempts);

    public bool Wants(AlertInfo alert, AlertNotificationKind kind)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return options.Wants(alert.Severity, kind);
    }

    public Task RefreshAsync(IReadOnlyList<AlertInfo> active, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task SendAsync(AlertNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var body = AlertPayload.Serialize(notification);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, options.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("Idempotency-Key", notification.Key);
        if (!string.IsNullOrEmpty(options.Secret))
        {
            var signature = HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(options.Secret), body);
            request.Headers.Add("X-Campus-Signature", "sha256=" + Convert.ToHexStringLower(signature));
        }

        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"the receiver answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no answer within {options.Timeout}");
        }
    }
}
