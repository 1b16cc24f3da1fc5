using Microsoft.Extensions.Options;
using Telemetry.Service.Security;

namespace Telemetry.Service.Alerts;

/// <summary>
/// Links to an alert's page in the technician console, for notifications (<c>{base}/console/alerts/{sensor}/{rule}/{raisedAt}</c>). The base
/// is <c>Alerts:ConsoleUrl</c>, or — unset — the first address the HTTP API listens on, a wildcard host
/// (<c>*</c>, <c>+</c>, <c>0.0.0.0</c>, <c>[::]</c>) read as 127.0.0.1; no link when that address has no fixed port.
/// </summary>
public sealed class AlertConsoleLinks
{
    public AlertConsoleLinks(IOptions<AlertOptions> options, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        Base = Resolve(options.Value.ConsoleUrl, ApiExposure.Listeners(configuration));
    }

    /// <summary>The console's base URL with a trailing slash, or null when there is none to link to.</summary>
    public Uri? Base { get; }

    /// <summary>
    /// The console page of alert <paramref name="alertId"/> (<c>{sensor}/{rule}/{raisedAt}</c>), or null when there is no
    /// base URL; the path is the console's own (<see cref="Telemetry.Service.TechnicianConsole.ConsoleEndpoints.AlertPath"/>).
    /// </summary>
    public Uri? For(string alertId)
    {
        ArgumentNullException.ThrowIfNull(alertId);
        // Relative to the base, so a base with a path (a proxy's prefix) keeps it.
        return Base is null ? null : new Uri(Base, Telemetry.Service.TechnicianConsole.ConsoleEndpoints.AlertPath(alertId).TrimStart('/'));
    }

    /// <summary>The one check of <c>Alerts:ConsoleUrl</c>: null when usable (unset included), else what is wrong.</summary>
    public static string? Problem(string? consoleUrl) =>
        string.IsNullOrWhiteSpace(consoleUrl)
        || (Uri.TryCreate(consoleUrl, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" && url.Query.Length == 0 && url.Fragment.Length == 0)
            ? null
            : "Alerts:ConsoleUrl must be an absolute http or https URL without a query (the service's base URL as people reach it)";

    static Uri? Resolve(string? consoleUrl, IReadOnlyList<ApiListener> listeners)
    {
        if (!string.IsNullOrWhiteSpace(consoleUrl))
        {
            return WithSlash(new Uri(consoleUrl, UriKind.Absolute));
        }

        // Kestrel's address forms (http://*:8080, http://+:8080) are not URIs; the host is swapped before parsing.
        var first = listeners.Select(l => l.Url).FirstOrDefault() ?? "";
        var wildcard = first.Replace("://*:", "://127.0.0.1:", StringComparison.Ordinal)
            .Replace("://+:", "://127.0.0.1:", StringComparison.Ordinal)
            .Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal)
            .Replace("://[::]:", "://127.0.0.1:", StringComparison.Ordinal);
        return Uri.TryCreate(wildcard, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" && url.Port > 0
            ? WithSlash(new Uri(url.GetLeftPart(UriPartial.Authority)))
            : null;
    }

    static Uri WithSlash(Uri url) => url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/");
}
