using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Grains.Alerts.Delivery;

namespace Telemetry.Service.Alerts;

/// <summary>
/// Prometheus Alertmanager as an alert destination (docs/alertmanager.md): alerts are posted to its v2 API
/// (<c>POST /api/v2/alerts</c>) as firing while active, with <c>endsAt</c> a few refresh intervals ahead, and resolved
/// on clear (<c>endsAt</c> = the clear time). Alertmanager keeps alerts in memory only and resolves one by itself at its
/// <c>endsAt</c>, so the outbox also gives it the whole active set every <see cref="RefreshInterval"/>
/// (<see cref="RefreshAsync"/>): that keeps active alerts firing, and brings them back after an Alertmanager restart.
/// </summary>
/// <remarks>
/// An alert's identity in Alertmanager is the fingerprint of its label set, so every post of an alert carries exactly
/// the same labels (<see cref="Labels"/>); what changes (acknowledgement, value) goes into annotations. Label values
/// are sent as they are: Alertmanager takes any UTF-8 there, and the label names are fixed.
/// </remarks>
public sealed class AlertmanagerDestination : IAlertDestination
{
    /// <summary>The destination's name (and its outbox's key).</summary>
    public const string DestinationName = "alertmanager";

    public const string HttpClientName = "alertmanager";

    /// <summary>Alerts per POST when the whole active set is posted: Alertmanager takes any number, a bounded body keeps each request quick.</summary>
    public const int MaxAlertsPerPost = 500;

    static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    readonly IHttpClientFactory httpClients;
    readonly AlertmanagerOptions options;
    readonly AlertConsoleLinks links;
    readonly ICampusRegistrySource registry;
    readonly TimeProvider time;
    readonly Uri alertsUrl;
    readonly AuthenticationHeaderValue? authorization;

    public AlertmanagerDestination(
        IHttpClientFactory httpClients, IOptions<AlertOptions> options, AlertConsoleLinks links, ICampusRegistrySource registry, TimeProvider time,
        ILogger<AlertmanagerDestination> logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(options);
        this.httpClients = httpClients;
        this.options = options.Value.Alertmanager;
        this.links = links;
        this.registry = registry;
        this.time = time;
        alertsUrl = new Uri(this.options.BaseUrl, "api/v2/alerts");
        authorization = !string.IsNullOrEmpty(this.options.BearerToken)
            ? new AuthenticationHeaderValue("Bearer", this.options.BearerToken)
            : !string.IsNullOrEmpty(this.options.Username)
                ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{this.options.Username}:{this.options.Password}")))
                : null;
        logger.LogInformation("Alerts go to Alertmanager at {Url} (refreshed every {RefreshInterval}, {MinSeverity} and above)",
            alertsUrl.GetLeftPart(UriPartial.Path), this.options.RefreshInterval, this.options.MinSeverity);
        if (authorization is not null && alertsUrl.Scheme == Uri.UriSchemeHttp && !alertsUrl.IsLoopback)
        {
            // Warned, not refused, as for the API's own listeners: a network only the two reach may be in between.
            logger.LogWarning("Alertmanager credentials are sent in clear to {Url}: use https unless the network between is private", alertsUrl.GetLeftPart(UriPartial.Authority));
        }
    }

    public string Name => DestinationName;

    public TimeSpan? RefreshInterval => options.RefreshInterval;

    /// <summary>Where alerts are posted: <c>{Url}/api/v2/alerts</c>.</summary>
    public Uri AlertsUrl => alertsUrl;

    public bool Wants(AlertInfo alert, AlertNotificationKind kind)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return alert.Severity >= options.MinSeverity;
    }

    /// <summary>
    /// Posts the alert: firing for <see cref="AlertNotificationKind.Raised"/>, <see cref="AlertNotificationKind.Acknowledged"/>
    /// (with the acknowledgement in the annotations), <see cref="AlertNotificationKind.Renotified"/> and
    /// <see cref="AlertNotificationKind.Escalated"/>; resolved (<c>endsAt</c> = the clear time) for
    /// <see cref="AlertNotificationKind.Cleared"/>. Throws when Alertmanager does not take it.
    /// </summary>
    public Task SendAsync(AlertNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var alert = notification.Alert;
        var endsAtMs = notification.Kind == AlertNotificationKind.Cleared || !alert.IsActive
            ? alert.ClearedAtMs ?? notification.AtMs
            : FiringEndsAtMs();
        return PostAsync([ToPostable(alert, endsAtMs)], cancellationToken);
    }

    /// <summary>Posts every active alert as firing again, in chunks of <see cref="MaxAlertsPerPost"/>; throws at the first chunk Alertmanager does not take.</summary>
    public async Task RefreshAsync(IReadOnlyList<AlertInfo> active, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(active);
        var endsAtMs = FiringEndsAtMs();
        foreach (var chunk in active.Where(a => a.IsActive).Chunk(MaxAlertsPerPost))
        {
            await PostAsync([.. chunk.Select(a => ToPostable(a, endsAtMs))], cancellationToken);
        }
    }

    /// <summary>The label set of <paramref name="alert"/> in <paramref name="campus"/>: the same on every post of the alert (its fingerprint).</summary>
    public static IReadOnlyDictionary<string, string> Labels(AlertInfo alert, string campus)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["alertname"] = alert.Rule,
            ["campus"] = campus,
            ["building"] = alert.Building,
            ["room"] = alert.Room,
            ["sensor"] = alert.Sensor,
            ["rule"] = alert.Rule,
            ["severity"] = WireName.Of(alert.Severity),
            ["alert_id"] = alert.Id,
        };
    }

    long FiringEndsAtMs() =>
        time.GetUtcNow().ToUnixTimeMilliseconds() + (long)(options.RefreshInterval.TotalMilliseconds * AlertmanagerOptions.EndsAfterIntervals);

    PostableAlert ToPostable(AlertInfo alert, long endsAtMs)
    {
        var annotations = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["summary"] = alert.Message };
        if (alert.Value is { } value)
        {
            annotations["value"] = value.ToString("R", CultureInfo.InvariantCulture);
        }

        if (alert.AcknowledgedBy is { } by)
        {
            annotations["acknowledged_by"] = by;
        }

        if (!string.IsNullOrEmpty(alert.AcknowledgeNote))
        {
            annotations["acknowledge_note"] = alert.AcknowledgeNote;
        }

        var link = links.For(alert.Id);
        if (link is not null)
        {
            annotations["console_url"] = link.AbsoluteUri;
        }

        // Alertmanager refuses an alert whose end is before its start ("start time must be before end time").
        endsAtMs = Math.Max(endsAtMs, alert.RaisedAtMs);
        return new PostableAlert(Labels(alert, registry.Current.Campus.Id), annotations, Time(alert.RaisedAtMs), Time(endsAtMs), link?.AbsoluteUri);
    }

    static string Time(long ms) =>
        DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    async Task PostAsync(IReadOnlyList<PostableAlert> alerts, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, alertsUrl)
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(alerts, Json)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = authorization;
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(timeout.Token);
                throw new HttpRequestException(
                    $"Alertmanager answered {(int)response.StatusCode} {response.ReasonPhrase} to POST {alertsUrl.AbsolutePath}: {Excerpt(body)}",
                    null,
                    response.StatusCode);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Alertmanager did not answer POST {alertsUrl.AbsolutePath} within {options.Timeout.TotalSeconds:0.###} s");
        }
    }

    /// <summary>The start of an error body, on one line, for the exception message (the outbox logs it).</summary>
    static string Excerpt(string body)
    {
        var line = body.ReplaceLineEndings(" ").Trim();
        return line.Length <= 200 ? line : line[..200] + "…";
    }

    /// <summary>Alertmanager's <c>postableAlert</c> (api/v2/openapi.yaml).</summary>
    sealed record PostableAlert(
        [property: JsonPropertyName("labels")] IReadOnlyDictionary<string, string> Labels,
        [property: JsonPropertyName("annotations")] IReadOnlyDictionary<string, string> Annotations,
        [property: JsonPropertyName("startsAt")] string StartsAt,
        [property: JsonPropertyName("endsAt")] string EndsAt,
        [property: JsonPropertyName("generatorURL")] string? GeneratorUrl);
}

/// <summary>Registration of the Alertmanager destination (<c>Alerts:Alertmanager</c>) and of console links (<c>Alerts:ConsoleUrl</c>).</summary>
public static class AlertmanagerRegistration
{
    /// <summary>
    /// Validates <c>Alerts:Alertmanager</c> and <c>Alerts:ConsoleUrl</c> at start, and registers the destination as an
    /// <see cref="IAlertDestination"/> singleton when <c>Alerts:Alertmanager:Url</c> is set. Needs
    /// <see cref="AlertOptions"/> bound (once: binding twice would append the webhooks twice),
    /// <see cref="ICampusRegistrySource"/> and <see cref="TimeProvider"/> registered.
    /// </summary>
    public static IServiceCollection AddAlertmanagerDestination(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AlertOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<AlertOptions>>(new Validate());
        services.AddSingleton<AlertConsoleLinks>();
        if (AlertmanagerOptions.IsSet(configuration[$"{AlertmanagerOptions.SectionName}:Url"]))
        {
            services.AddHttpClient(AlertmanagerDestination.HttpClientName);
            services.AddSingleton<IAlertDestination, AlertmanagerDestination>();
        }

        return services;
    }

    /// <summary>The start check of <c>Alerts:ConsoleUrl</c> and <c>Alerts:Alertmanager</c>, each by its one function.</summary>
    sealed class Validate : IValidateOptions<AlertOptions>
    {
        ValidateOptionsResult IValidateOptions<AlertOptions>.Validate(string? name, AlertOptions options)
        {
            var problems = options.Alertmanager.Problems().ToList();
            if (AlertConsoleLinks.Problem(options.ConsoleUrl) is { } problem)
            {
                problems.Add(problem);
            }

            return problems.Count > 0 ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
        }
    }
}
