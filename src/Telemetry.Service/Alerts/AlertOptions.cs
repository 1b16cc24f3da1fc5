using Telemetry.Contracts;

namespace Telemetry.Service.Alerts;

/// <summary>
/// Alert delivery (configuration section <c>Alerts</c>):
/// <code>
/// "Alerts": {
///   "MqttTopicRoot": "campus/alerts",          // campus/alerts/{building}/{room}/{sensor}/{rule}
///   "Webhooks": [
///     { "Name": "technicians", "Url": "https://ops.example/hooks/campus", "MinSeverity": "Warning",
///       "Events": [ "raised", "cleared" ],   // empty or absent: all three steps
///       "Secret": "",                        // set the secret through the environment
///       "MaxDelay": "00:05:00", "MaxAge": "1.00:00:00", "MaxAttempts": 0, "Timeout": "00:00:10" }
///   ]
/// }
/// </code>
/// </summary>
public sealed class AlertOptions
{
    public const string SectionName = "Alerts";

    public string MqttTopicRoot { get; set; } = "campus/alerts";

    public List<WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>
    /// The service's base URL as people reach it (e.g. <c>https://telemetry.campus.example</c>), for links to an alert's
    /// console page (<c>{ConsoleUrl}/console/alerts/{sensor}/{rule}/{raisedAt}</c>) in notifications; unset: derived from the first HTTP
    /// listener (<c>Urls</c>), a wildcard host read as 127.0.0.1 (see <see cref="AlertConsoleLinks"/>).
    /// </summary>
    public string? ConsoleUrl { get; set; }

    /// <summary>Prometheus Alertmanager as a destination (<c>Alerts:Alertmanager</c>; off while its <c>Url</c> is unset).</summary>
    public AlertmanagerOptions Alertmanager { get; set; } = new();
}

public sealed class WebhookOptions
{
    /// <summary>
    /// The webhook's name: the key of its outbox (its persisted queue: renaming a webhook starts a new, empty outbox),
    /// the <c>destination</c> label of its metrics, and the name in log lines and <c>/api/alerts/outbox</c>. Unique
    /// among the destinations; 1–64 letters, digits, <c>-</c>, <c>_</c>, <c>.</c>.
    /// </summary>
    public string Name { get; set; } = "webhook";

    /// <summary>Where the notifications are POSTed (http or https); required.</summary>
    public Uri? Url { get; set; }

    /// <summary>Info, Warning or Critical: alerts below it are not sent to this webhook.</summary>
    public AlertSeverity MinSeverity { get; set; } = AlertSeverity.Info;

    /// <summary>
    /// The steps to send (<c>raised</c>, <c>acknowledged</c>, <c>cleared</c>); empty — the default — sends all three.
    /// Empty rather than pre-filled because the configuration binder appends configured items to a list's defaults.
    /// </summary>
    public List<AlertEvent> Events { get; set; } = [];

    /// <summary>When set, each POST carries <c>X-Campus-Signature: sha256=HMAC(secret, body)</c>.</summary>
    public string? Secret { get; set; }

    /// <summary>Attempts of one notification before it is given up; 0 (the default): no limit, only <see cref="MaxAge"/> gives up.</summary>
    public int MaxAttempts { get; set; }

    /// <summary>Longest pause between two attempts of one notification (exponential backoff from 1 s, with jitter).</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A notification not delivered this long after the outbox took it is given up; a step recorded longer ago than
    /// this when the outbox reads it is not sent (expired). Both counted and logged.
    /// </summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(24);

    /// <summary>One POST attempt.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether the webhook takes a notification of <paramref name="kind"/> about an alert of <paramref name="severity"/>.</summary>
    public bool Wants(AlertSeverity severity, AlertNotificationKind kind) =>
        severity >= MinSeverity && kind switch
        {
            AlertNotificationKind.Raised => Takes(AlertEvent.Raised),
            AlertNotificationKind.Acknowledged => Takes(AlertEvent.Acknowledged),
            AlertNotificationKind.Cleared => Takes(AlertEvent.Cleared),
            // A re-notification repeats the raise: it goes where raises go.
            AlertNotificationKind.Renotified => Takes(AlertEvent.Raised),
            // An escalation names this webhook on purpose (Alerts:Escalation:*:EscalateTo): only the severity filters.
            AlertNotificationKind.Escalated => true,
            _ => false,
        };

    bool Takes(AlertEvent alertEvent) => Events.Count == 0 || Events.Contains(alertEvent);
}

/// <summary>The one check of the <c>Alerts</c> section, run at start (<see cref="AlertOptionsValidator"/>).</summary>
public static class AlertOptionsRules
{
    /// <summary>Letters, digits, <c>-</c>, <c>_</c>, <c>.</c>: a name that is safe as a grain key, a metric label and in a log line.</summary>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    public static List<string> Problems(AlertOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.MqttTopicRoot))
        {
            problems.Add("Alerts:MqttTopicRoot must not be empty");
        }

        for (var i = 0; i < options.Webhooks.Count; i++)
        {
            var w = options.Webhooks[i];
            var key = $"Alerts:Webhooks:{i}";
            if (w.Url is null)
            {
                problems.Add($"{key}:Url is required (an http or https URL)");
            }
            else if (!w.Url.IsAbsoluteUri || w.Url.Scheme is not ("http" or "https"))
            {
                problems.Add($"{key}:Url must be an http or https URL");
            }

            if (!IsValidName(w.Name))
            {
                problems.Add($"{key}:Name must be 1-64 letters, digits, '-', '_' or '.'");
            }

            // The binder parses enums leniently ("7", "raised,cleared"): only the named values are accepted.
            if (!Enum.IsDefined(w.MinSeverity))
            {
                problems.Add($"{key}:MinSeverity must be Info, Warning or Critical");
            }

            if (!w.Events.All(Enum.IsDefined))
            {
                problems.Add($"{key}:Events may hold raised, acknowledged and cleared");
            }

            if (w.MaxAttempts < 0)
            {
                problems.Add($"{key}:MaxAttempts must not be negative (0: no limit)");
            }

            if (w.Timeout <= TimeSpan.Zero || w.MaxDelay <= TimeSpan.Zero || w.MaxAge <= TimeSpan.Zero)
            {
                problems.Add($"{key}: Timeout, MaxDelay and MaxAge must be longer than zero");
            }
        }

        // Names unique among all destinations (webhooks, Alertmanager): AlertDestinations, which sees them all.
        return problems;
    }
}

public sealed class AlertOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<AlertOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, AlertOptions options)
    {
        var problems = AlertOptionsRules.Problems(options);
        return problems.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(problems);
    }
}
