using System.Collections.Frozen;
using System.Reflection;

namespace Telemetry.Service.TechnicianConsole;

/// <summary>
/// The console's files (TechnicianConsole/Files, embedded in the assembly: no front-end build, nothing to copy
/// beside the service), read once. Hand-written instead of the static-files middleware with an embedded file
/// provider: five files, each answered with the same strict headers, and no extra package.
/// </summary>
public sealed class ConsoleAssets
{
    const string Prefix = "console/";

    readonly FrozenDictionary<string, byte[]> files;

    public ConsoleAssets()
    {
        var assembly = typeof(ConsoleAssets).Assembly;
        files = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
            .ToFrozenDictionary(n => n[Prefix.Length..], n => Read(assembly, n), StringComparer.Ordinal);
    }

    /// <summary>The names of the files (e.g. <c>console.js</c>).</summary>
    public IEnumerable<string> Names => files.Keys;

    /// <summary>The file <paramref name="name"/> with its content type and security headers, or 404.</summary>
    public IResult Serve(HttpContext context, string name)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!files.TryGetValue(name, out var content) || ContentType(name) is not { } type)
        {
            return Results.Problem("no such console file", statusCode: StatusCodes.Status404NotFound);
        }

        var headers = context.Response.Headers;
        // The pages load only their own scripts and styles and talk only to this service; nothing may frame them.
        headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                                        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";
        headers.CacheControl = "no-cache";
        return Results.Bytes(content, type);
    }

    static string? ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => null,
    };

    static byte[] Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the embedded console file {resource} is missing");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
