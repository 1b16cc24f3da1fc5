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
///       "MaxAttempts": 10, "MaxDelay": "00:05:00", "Timeout": "00:00:10" }
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
    public string Name { get; set; } = "webhook";

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

    public int MaxAttempts { get; set; } = 10;

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}
