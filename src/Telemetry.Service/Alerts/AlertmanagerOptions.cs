using Telemetry.Contracts;

namespace Telemetry.Service.Alerts;

/// <summary>
/// Prometheus Alertmanager as an alert destination (configuration section <c>Alerts:Alertmanager</c>; docs/alertmanager.md):
/// <code>
/// "Alerts": {
///   "Alertmanager": {
///     "Url": "http://alertmanager:9093",   // unset: no Alertmanager destination
///     "RefreshInterval": "00:01:00",       // every active alert is posted again this often (endsAt = now + 4 × this)
///     "MinSeverity": "Info",               // alerts below it are not sent
///     "Timeout": "00:00:10",               // one POST
///     "Username": "", "Password": "",      // basic auth; set the password through the environment
///     "BearerToken": ""                    // or a bearer token, through the environment
///   }
/// }
/// </code>
/// </summary>
public sealed class AlertmanagerOptions
{
    /// <summary>Where these options live in the configuration (a part of <see cref="AlertOptions"/>), for messages.</summary>
    public const string SectionName = "Alerts:Alertmanager";

    /// <summary>Alertmanager's base URL (with its <c>--web.route-prefix</c>, if any); unset or empty: no Alertmanager destination.</summary>
    public string? Url { get; set; }

    /// <summary>How often every active alert is posted again; each post says it ends 4 intervals later unless posted again.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Info, Warning or Critical: alerts below it are not sent to Alertmanager.</summary>
    public AlertSeverity MinSeverity { get; set; } = AlertSeverity.Info;

    /// <summary>One POST to Alertmanager; a POST that takes longer fails (and the outbox tries again).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Basic authentication user (Alertmanager's <c>--web.config.file</c> <c>basic_auth_users</c>, or a proxy in front).</summary>
    public string? Username { get; set; }

    /// <summary>Basic authentication password; set it in the environment: <c>Alerts__Alertmanager__Password</c>.</summary>
    public string? Password { get; set; }

    /// <summary>A bearer token for a proxy in front of Alertmanager; set it in the environment: <c>Alerts__Alertmanager__BearerToken</c>.</summary>
    public string? BearerToken { get; set; }

    /// <summary>How far ahead a firing post's <c>endsAt</c> lies, in refresh intervals: three refreshes may fail before Alertmanager resolves the alert by itself.</summary>
    public const int EndsAfterIntervals = 4;

    /// <summary>Whether <paramref name="url"/> (the configured <c>Url</c>) turns the destination on.</summary>
    public static bool IsSet(string? url) => !string.IsNullOrWhiteSpace(url);

    /// <summary>The base URL to post to, with a trailing slash so relative API paths keep a route prefix; only after <see cref="Problems"/> found none.</summary>
    public Uri BaseUrl => new(Url!.EndsWith('/') ? Url : Url + "/", UriKind.Absolute);

    /// <summary>
    /// Every mistake in these options, each naming its key; empty when the options are usable. The one check of this
    /// section, run at start (the service does not start with a mistake here).
    /// </summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (IsSet(Url))
        {
            if (!Uri.TryCreate(Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                problems.Add($"{SectionName}:Url must be an absolute http or https URL");
            }
            else if (url.UserInfo.Length > 0)
            {
                problems.Add($"{SectionName}:Url must not hold credentials: set {SectionName}:Username and the password through the environment (Alerts__Alertmanager__Password)");
            }
            else if (url.Query.Length > 0 || url.Fragment.Length > 0)
            {
                problems.Add($"{SectionName}:Url must be Alertmanager's base URL, without a query or fragment");
            }
        }

        if (RefreshInterval < TimeSpan.FromSeconds(1))
        {
            problems.Add($"{SectionName}:RefreshInterval must be at least 1 s");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            problems.Add($"{SectionName}:Timeout must be longer than zero");
        }

        // The binder parses enums leniently ("7"): only the named values are accepted.
        if (!Enum.IsDefined(MinSeverity))
        {
            problems.Add($"{SectionName}:MinSeverity must be Info, Warning or Critical");
        }

        var basic = !string.IsNullOrEmpty(Username) || !string.IsNullOrEmpty(Password);
        if (basic && string.IsNullOrEmpty(Username))
        {
            problems.Add($"{SectionName}:Password is set without {SectionName}:Username");
        }

        if (basic && !string.IsNullOrEmpty(BearerToken))
        {
            problems.Add($"{SectionName}: set either Username/Password or BearerToken, not both");
        }

        if (Username?.Contains(':', StringComparison.Ordinal) == true)
        {
            problems.Add($"{SectionName}:Username must not contain ':' (basic authentication separates user and password with it)");
        }

        return problems;
    }
}
