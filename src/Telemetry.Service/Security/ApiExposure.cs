using System.Net;
using Microsoft.AspNetCore.Hosting;

namespace Telemetry.Service.Security;

/// <summary>An address the HTTP server is configured to listen on, and the configuration key that names it.</summary>
public sealed record ApiListener(string Url, string Source);

/// <summary>
/// The start rule of the HTTP API: with nothing configured it stays open only while every address it listens on is a
/// loopback address (the local demo); any other address without authentication stops the start.
/// </summary>
public static class ApiExposure
{
    /// <summary>
    /// Every address the server may bind, from all the places ASP.NET Core reads them: <c>Urls</c> (also
    /// <c>ASPNETCORE_URLS</c>), <c>HTTP_PORTS</c>/<c>HTTPS_PORTS</c> (bound on all interfaces) and every
    /// <c>Kestrel:Endpoints:{name}:Url</c>. Kestrel's endpoints override <c>Urls</c> when both are set; all are listed
    /// regardless, so the rule errs towards asking for authentication. Nothing configured: Kestrel's default, localhost.
    /// </summary>
    public static IReadOnlyList<ApiListener> Listeners(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var listeners = new List<ApiListener>();
        foreach (var url in Split(configuration[WebHostDefaults.ServerUrlsKey]))
        {
            listeners.Add(new ApiListener(url, "Urls"));
        }

        foreach (var (key, scheme) in new[] { (WebHostDefaults.HttpPortsKey, "http"), (WebHostDefaults.HttpsPortsKey, "https") })
        {
            foreach (var port in Split(configuration[key]))
            {
                listeners.Add(new ApiListener($"{scheme}://*:{port}", key.ToUpperInvariant()));
            }
        }

        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            if (endpoint["Url"] is { Length: > 0 } url)
            {
                listeners.Add(new ApiListener(url, $"Kestrel:Endpoints:{endpoint.Key}:Url"));
            }
        }

        if (listeners.Count == 0)
        {
            listeners.Add(new ApiListener("http://localhost:5000", "Kestrel's default"));
        }

        return listeners;
    }

    /// <summary>
    /// Why the service must not start, or null when it may: some listener is off loopback and no authentication is
    /// configured. The message names the addresses and what to configure.
    /// </summary>
    public static string? Refusal(IReadOnlyList<ApiListener> listeners, bool authenticationConfigured)
    {
        ArgumentNullException.ThrowIfNull(listeners);
        if (authenticationConfigured)
        {
            return null;
        }

        var exposed = listeners.Where(l => !IsLoopback(l.Url)).ToList();
        if (exposed.Count == 0)
        {
            return null;
        }

        return $"The HTTP API would listen on {string.Join(", ", exposed.Select(l => $"{l.Url} ({l.Source})"))}, which is not a loopback address, "
               + "and no authentication is configured: anyone who reaches it could read the campus and acknowledge or clear alerts. "
               + "Configure API keys (Api:Keys; create one with `Telemetry.Service api-key new <name> <role>`) and/or bearer tokens "
               + "(Api:Jwt:Authority and Api:Jwt:Audience), or listen on 127.0.0.1 only (Urls=http://127.0.0.1:8080). See docs/security.md.";
    }

    /// <summary>
    /// The plain-HTTP listeners off loopback: API keys and bearer tokens sent to them cross the network in clear.
    /// Warned about at start, not refused: a TLS-terminating proxy or the container's own network may be in front.
    /// </summary>
    public static IReadOnlyList<ApiListener> PlainHttpOffLoopback(IReadOnlyList<ApiListener> listeners)
    {
        ArgumentNullException.ThrowIfNull(listeners);
        return [.. listeners.Where(l => l.Url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !IsLoopback(l.Url))];
    }

    /// <summary>
    /// True for an address only this machine reaches: <c>localhost</c>, 127.0.0.0/8, <c>::1</c>, or a Unix socket
    /// (<c>http://unix:/path</c>, guarded by file permissions). Wildcards (<c>*</c>, <c>+</c>, <c>0.0.0.0</c>,
    /// <c>[::]</c>), host names and every other address are not; so is anything that does not parse.
    /// </summary>
    public static bool IsLoopback(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
        {
            return false;
        }

        var rest = url[(scheme + 3)..];
        if (rest.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        string host;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            host = rest[1..close];
        }
        else
        {
            var end = rest.IndexOfAny([':', '/']);
            host = end < 0 ? rest : rest[..end];
        }

        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
               || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    static string[] Split(string? value) =>
        (value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
