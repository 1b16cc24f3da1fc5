using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Service.Security;

namespace Telemetry.Service.TechnicianConsole;

/// <summary>
/// The technician console at <c>/console</c> (docs/console.md): active alerts newest first, filtered by building and
/// severity, acknowledge with a note or clear in one click; an alert's page
/// <c>/console/alerts/{sensor}/{rule}/{raisedAtMs}</c> (its id as a path: Alertmanager and Grafana link here); a
/// sensor's page <c>/console/sensors/{sensor}</c>. The pages are one static HTML shell and a script that calls the
/// existing API (<c>/api/alerts</c>, <c>/api/sensors/{sensor}</c>) and polls it every few seconds.
/// Secured API: the pages need the console's sign-in cookie of a technician or admin
/// (<see cref="ConsoleAuthentication"/>), anything else is sent to <c>/console/sign-in</c>. Open API (loopback, nothing
/// configured): the pages are open and the console asks for the name it sends as <c>by</c>.
/// </summary>
public static class ConsoleEndpoints
{
    /// <summary>The body of <c>POST /console/sign-in</c>'s answer and of <c>GET /console/session</c>.</summary>
    public sealed record ConsoleSession(bool Open, string? Name, IReadOnlyList<string> Roles);

    /// <summary>Who is signed in (JSON): <see cref="ConsoleSession"/>.</summary>
    public const string SessionPath = "/console/session";

    /// <summary>Where an alert's page is: this, then the alert id <c>{sensor}/{rule}/{raisedAtMs}</c>.</summary>
    public const string AlertPagePrefix = "/console/alerts/";

    /// <summary>
    /// The path of the console's page of <paramref name="alertId"/> (<c>{sensor}/{rule}/{raisedAtMs}</c>), each segment
    /// escaped; links from Alertmanager and elsewhere are the service's public base URL followed by this.
    /// </summary>
    public static string AlertPath(string alertId)
    {
        ArgumentNullException.ThrowIfNull(alertId);
        return AlertPagePrefix + string.Join('/', alertId.Split('/').Select(Uri.EscapeDataString));
    }

    public static WebApplication MapTelemetryConsole(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var assets = new ConsoleAssets();
        var open = app.Services.GetRequiredService<ApiCaller>().Open;
        var metrics = app.Services.GetRequiredService<TelemetryMetrics>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ConsoleEndpoints));
        var throttle = new LogThrottle(TimeSpan.FromSeconds(10), app.Services.GetRequiredService<TimeProvider>(), maxKeys: 4);

        // A sign-in or sign-out without X-Console: counted with the API's other refusals, logged at most every 10 s.
        IResult HeaderMissing(HttpContext context)
        {
            metrics.ApiRequestsRefused.Add(1, new KeyValuePair<string, object?>("reason", "console_header_missing"));
            if (throttle.ShouldLog("console_header_missing", out var suppressed))
            {
                logger.LogWarning("HTTP API request refused (console_header_missing): {Method} {Path} from {Remote}{Suppressed}",
                    context.Request.Method, Text.ForLog(context.Request.Path.Value), context.Connection.RemoteIpAddress,
                    suppressed > 0 ? $" ({suppressed} more refused for this reason since the last line)" : "");
            }

            return Results.Problem($"{context.Request.Method} {context.Request.Path} must carry the header {ConsoleAuthentication.HeaderName}: 1",
                statusCode: StatusCodes.Status400BadRequest);
        }

        // The files hold no data and no secret: the sign-in page needs them before anyone is signed in.
        app.MapGet("/console/assets/{name}", (string name, HttpContext context) => assets.Serve(context, name)).AllowAnonymous().ExcludeFromDescription();

        app.MapGet(ConsoleAuthentication.SignInPath, (HttpContext context) =>
            open ? Results.Redirect("/console") : assets.Serve(context, "sign-in.html")).AllowAnonymous().ExcludeFromDescription();

        // The key or token comes in the request's Authorization / X-Api-Key header and is checked by the API's own
        // handlers (policy SignInPolicy); X-Console keeps another site's form from signing a browser in.
        app.MapPost(ConsoleAuthentication.SignInPath, async (HttpContext context, TimeProvider time) =>
        {
            if (!ConsoleAuthentication.HasConsoleHeader(context.Request.Headers))
            {
                return HeaderMissing(context);
            }

            if (open)
            {
                return Results.Ok(new ConsoleSession(true, null, ApiRoles.All));
            }

            var session = ConsoleAuthentication.SessionOf(context.User);
            var bearer = context.User.FindFirst("exp") is not null;
            await context.SignInAsync(ConsoleAuthentication.SchemeName, session, new AuthenticationProperties
            {
                IsPersistent = false,
                ExpiresUtc = ConsoleAuthentication.ExpiresAt(context.User, time.GetUtcNow()),
                // A token's session ends with the token: not extended by use.
                AllowRefresh = !bearer,
            });
            return Results.Ok(SessionView(session, open: false));
        }).RequireAuthorization(ConsoleAuthentication.SignInPolicy).ExcludeFromDescription();

        app.MapPost("/console/sign-out", async (HttpContext context) =>
        {
            if (!ConsoleAuthentication.HasConsoleHeader(context.Request.Headers))
            {
                return HeaderMissing(context);
            }

            if (!open)
            {
                await context.SignOutAsync(ConsoleAuthentication.SchemeName);
            }

            return Results.NoContent();
        }).AllowAnonymous().ExcludeFromDescription();

        app.MapGet(SessionPath, (ClaimsPrincipal user) => Results.Ok(SessionView(user, open)))
            .RequireAuthorization(ConsoleAuthentication.PagePolicy).ExcludeFromDescription();

        // One shell for every page; the script reads the path.
        IResult Shell(HttpContext context) => assets.Serve(context, "console.html");
        app.MapGet("/console", Shell).RequireAuthorization(ConsoleAuthentication.PagePolicy).ExcludeFromDescription();
        app.MapGet(AlertPagePrefix + "{sensor}/{rule}/{raisedAt:long}", Shell).RequireAuthorization(ConsoleAuthentication.PagePolicy).ExcludeFromDescription();
        app.MapGet("/console/sensors/{sensor}", Shell).RequireAuthorization(ConsoleAuthentication.PagePolicy).ExcludeFromDescription();
        return app;
    }

    static ConsoleSession SessionView(ClaimsPrincipal user, bool open) => open
        ? new ConsoleSession(true, null, ApiRoles.All)
        : new ConsoleSession(false, ApiCaller.Identity(user), [.. ApiRoles.All.Where(user.IsInRole)]);
}
