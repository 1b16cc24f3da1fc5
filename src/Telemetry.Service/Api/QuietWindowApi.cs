using System.Security.Claims;
using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Ingest;
using Telemetry.Grains.Alerts;
using Telemetry.Service.Security;

namespace Telemetry.Service.Api;

/// <summary>
/// Quiet windows (quiet hours, maintenance windows; docs/alerts.md): while one is in force, notifications about the
/// alerts it covers are not sent (the alerts are still recorded). <c>GET /api/quiet-windows</c> and
/// <c>GET /api/quiet-windows/{id}</c> (viewer), <c>POST /api/quiet-windows</c> and <c>DELETE /api/quiet-windows/{id}</c>
/// (technician). A window is validated by <see cref="QuietWindowRules.Problems"/>; the building and sensor it names
/// must be in the campus registry. Who set it is the authenticated caller (<see cref="ApiCaller"/>; the open loopback
/// API takes the body's <c>by</c>, which it then requires).
/// </summary>
public static class QuietWindowApi
{
    /// <summary>
    /// The body of <c>POST /api/quiet-windows</c>. Neither building nor sensor: the whole campus. <c>From</c> and
    /// <c>Until</c> are instants (ISO 8601 with an offset); <c>Schedule</c> recurring periods in campus local time
    /// (<see cref="QuietWindowRules.ScheduleExample"/>); <c>UpToSeverity</c> <c>info</c>, <c>warning</c> or
    /// <c>critical</c> (the default: every alert it covers).
    /// </summary>
    public sealed record QuietWindowRequest(
        string? Building,
        string? Sensor,
        DateTimeOffset? From,
        DateTimeOffset? Until,
        string? Schedule,
        string? UpToSeverity,
        string? Reason,
        string? By);

    /// <summary>A quiet window as the API shows it.</summary>
    public sealed record QuietWindowView(
        string Id,
        string? Building,
        string? Sensor,
        DateTimeOffset? From,
        DateTimeOffset? Until,
        string? Schedule,
        AlertSeverity UpToSeverity,
        string Reason,
        string CreatedBy,
        DateTimeOffset CreatedAt)
    {
        public static QuietWindowView Of(QuietWindow w)
        {
            ArgumentNullException.ThrowIfNull(w);
            return new(w.Id, w.Building, w.Sensor, Instant(w.StartsAtMs), Instant(w.EndsAtMs), w.Schedule, w.UpToSeverity,
                w.Reason, w.CreatedBy, DateTimeOffset.FromUnixTimeMilliseconds(w.CreatedAtMs));
        }

        static DateTimeOffset? Instant(long? ms) => ms is { } m ? DateTimeOffset.FromUnixTimeMilliseconds(m) : null;
    }

    /// <summary>The list's order: by start (a window without one by when it was set), then id.</summary>
    static readonly PageOrder<QuietWindow> Order = new(w => w.StartsAtMs ?? w.CreatedAtMs, descending: false, w => w.Id);

    public static WebApplication MapQuietWindowApi(this WebApplication app)
    {
        app.MapGet("/api/quiet-windows", async ([AsParameters] PageQuery query, HttpContext http, IGrainFactory grains) =>
        {
            if (Paging.Read(query, out var page) is { } problem)
            {
                return problem;
            }

            var windows = await grains.GetGrain<IQuietWindowGrain>(QuietWindowGrain.Key).GetWindows();
            return Results.Ok(Paging.TakeLinked(http, page, windows, Order).Select(QuietWindowView.Of).ToList());
        })
        .WithName("ListQuietWindows")
        .WithSummary("Quiet windows not yet over, by start (paginated)")
        .Produces<List<QuietWindowView>>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .RequireAuthorization(ApiRoles.Viewer);

        app.MapGet("/api/quiet-windows/{id}", async (string id, IGrainFactory grains) =>
        {
            var window = (await grains.GetGrain<IQuietWindowGrain>(QuietWindowGrain.Key).GetWindows()).FirstOrDefault(w => w.Id == id);
            return window is null
                ? Results.Problem($"there is no quiet window '{Shown(id)}' (it may be over)", statusCode: StatusCodes.Status404NotFound)
                : Results.Ok(QuietWindowView.Of(window));
        })
        .WithName("GetQuietWindow")
        .WithSummary("One quiet window")
        .Produces<QuietWindowView>()
        .ProducesProblem(StatusCodes.Status404NotFound)
        .RequireAuthorization(ApiRoles.Viewer);

        app.MapPost("/api/quiet-windows", async (QuietWindowRequest request, ClaimsPrincipal user, ApiCaller caller,
            ICampusRegistrySource registry, TimeProvider time, IGrainFactory grains, ILoggerFactory logs) =>
        {
            if (caller.NameOf(user, request.By) is not { } by)
            {
                return Results.Problem("'by' must name the person setting the window", statusCode: StatusCodes.Status400BadRequest);
            }

            var severity = AlertSeverity.Critical;
            if (request.UpToSeverity is { } text && !WireName.TryParse(text, out severity))
            {
                return Invalid([$"upToSeverity must be one of {WireName.All<AlertSeverity>()}, not '{Shown(text)}'"]);
            }

            var window = new QuietWindow(
                Guid.CreateVersion7().ToString("N"),
                request.Building,
                request.Sensor,
                request.From?.ToUnixTimeMilliseconds(),
                request.Until?.ToUnixTimeMilliseconds(),
                request.Schedule,
                severity,
                request.Reason?.Trim() ?? "",
                by,
                time.GetUtcNow().ToUnixTimeMilliseconds());
            if (QuietWindowRules.Problems(window) is { Count: > 0 } problems)
            {
                return Invalid(problems);
            }

            if (NotInRegistry(window, registry.Current) is { Count: > 0 } unknown)
            {
                return Invalid(unknown);
            }

            await grains.GetGrain<IQuietWindowGrain>(QuietWindowGrain.Key).Add(window);
            logs.CreateLogger(typeof(QuietWindowApi)).LogInformation(
                "Quiet window {Id} set by {By} for {Scope} up to {Severity}: {Reason}",
                window.Id, Text.ForLog(by), Scope(window), WireName.Of(severity), Text.ForLog(window.Reason));
            return Results.Created($"/api/quiet-windows/{window.Id}", QuietWindowView.Of(window));
        })
        .WithName("AddQuietWindow")
        .WithSummary("Sets a quiet window: notifications about the alerts it covers are not sent while it is in force")
        .Accepts<QuietWindowRequest>("application/json")
        .Produces<QuietWindowView>(StatusCodes.Status201Created)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .RequireAuthorization(ApiRoles.Technician);

        app.MapDelete("/api/quiet-windows/{id}", async (string id, ClaimsPrincipal user, ApiCaller caller, IGrainFactory grains, ILoggerFactory logs) =>
        {
            if (!await grains.GetGrain<IQuietWindowGrain>(QuietWindowGrain.Key).Remove(id))
            {
                return Results.Problem($"there is no quiet window '{Shown(id)}' (it may be over)", statusCode: StatusCodes.Status404NotFound);
            }

            logs.CreateLogger(typeof(QuietWindowApi)).LogInformation("Quiet window {Id} removed by {By}",
                Text.ForLog(id), Text.ForLog(caller.Open ? "the open API" : ApiCaller.Identity(user) ?? "?"));
            return Results.NoContent();
        })
        .WithName("RemoveQuietWindow")
        .WithSummary("Removes a quiet window")
        .Produces(StatusCodes.Status204NoContent)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .RequireAuthorization(ApiRoles.Technician);
        return app;
    }

    /// <summary>400 listing the problems, each also in the <c>problems</c> member.</summary>
    static IResult Invalid(IReadOnlyList<string> problems) => Results.Problem(
        string.Join("; ", problems),
        statusCode: StatusCodes.Status400BadRequest,
        title: "Invalid quiet window",
        extensions: new Dictionary<string, object?> { ["problems"] = problems });

    /// <summary>What the window names that the campus registry does not have (a window for a typo would silence nothing).</summary>
    static List<string> NotInRegistry(QuietWindow window, CampusRegistry registry)
    {
        List<string> problems = [];
        if (window.Building is { } building && registry.FindBuilding(building) is null)
        {
            problems.Add($"building '{Shown(building)}' is not in the campus registry");
        }

        if (window.Sensor is { } sensor)
        {
            if (registry.FindSensor(sensor) is not { } registered)
            {
                problems.Add($"sensor '{Shown(sensor)}' is not in the campus registry");
            }
            else if (window.Building is { } b && registered.Building.Id != b)
            {
                problems.Add($"sensor '{Shown(sensor)}' is in building '{registered.Building.Id}', not '{Shown(b)}'");
            }
        }

        return problems;
    }

    static string Scope(QuietWindow w) =>
        w.Sensor is { } s ? $"sensor {s}" : w.Building is { } b ? $"building {b}" : "the whole campus";

    static string Shown(string text) => Text.Visible(text.Length > 64 ? text[..64] + "…" : text);
}
