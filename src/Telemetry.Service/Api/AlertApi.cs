using System.Security.Claims;
using Telemetry.Contracts;
using Telemetry.Domain.Ingest;
using Telemetry.Grains.Alerts;
using Telemetry.Service.Security;

namespace Telemetry.Service.Api;

/// <summary>
/// Alerts: <c>GET /api/alerts</c> (active), <c>GET /api/alerts?state=recent&amp;max=100</c> (finished, newest first),
/// <c>GET /api/alerts/{sensor}/{rule}/{raisedAt}</c> (role viewer), and the two actions of a person (role technician):
/// <c>POST …/ack</c> with <c>{"note": "…"}</c> and <c>POST …/clear</c>. An alert id is <c>{sensor}/{rule}/{raisedAtMs}</c>.
/// Who acted is the authenticated caller (<see cref="ApiCaller"/>); only the open loopback API takes the body's
/// <c>by</c>, which it then requires.
/// </summary>
public static class AlertApi
{
    public sealed record AlertAction(string? By, string? Note);

    public static WebApplication MapAlertApi(this WebApplication app)
    {
        app.MapGet("/api/alerts", async (string? state, int? max, [AsParameters] PageQuery query, HttpContext http, IGrainFactory grains) =>
        {
            var index = grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key);
            switch (state)
            {
                case null or "" or "active":
                    return Paging.Read(query, out var page) ?? Paging.Page(http, page, await index.GetActive(), ActiveOrder);
                case "recent":
                    return Paging.Read(Paging.WithLegacyMax(query, max), out var recentPage)
                        ?? Paging.Page(http, recentPage, await index.GetRecent(10_000), RecentOrder);
                default:
                    return Results.Problem($"state must be 'active' or 'recent', not '{Text.Visible(state.Length > 64 ? state[..64] : state)}'",
                        statusCode: StatusCodes.Status400BadRequest);
            }
        })
        .WithName("ListAlerts")
        .WithSummary("Active alerts (newest raised first), or with state=recent the finished ones (newest cleared first); paginated")
        .Produces<List<AlertInfo>>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .RequireAuthorization(ApiRoles.Viewer);

        app.MapGet("/api/alerts/{sensor}/{rule}/{raisedAt:long}", async (string sensor, string rule, long raisedAt, IGrainFactory grains) =>
        {
            var alert = await grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).Find($"{sensor}/{rule}/{raisedAt}");
            return alert is null ? Results.Problem("no such alert", statusCode: StatusCodes.Status404NotFound) : Results.Ok(alert);
        })
        .WithName("GetAlert")
        .WithSummary("One alert, active or recent")
        .Produces<AlertInfo>()
        .ProducesProblem(StatusCodes.Status404NotFound)
        .RequireAuthorization(ApiRoles.Viewer);

        app.MapPost("/api/alerts/{sensor}/{rule}/{raisedAt:long}/ack",
            async (string sensor, string rule, long raisedAt, AlertAction? action, ClaimsPrincipal user, ApiCaller caller, IGrainFactory grains) =>
            {
                if (caller.NameOf(user, action?.By) is not { } by)
                {
                    return Results.Problem("'by' must name the person acknowledging", statusCode: StatusCodes.Status400BadRequest);
                }

                return Answer(await grains.GetGrain<ISensorGrain>(sensor).Acknowledge($"{sensor}/{rule}/{raisedAt}", by, action?.Note));
            })
            .WithName("AcknowledgeAlert")
            .WithSummary("Acknowledges an alert (with a note), under the caller's name")
            .Produces<AlertInfo>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(ApiRoles.Technician);

        app.MapPost("/api/alerts/{sensor}/{rule}/{raisedAt:long}/clear",
            async (string sensor, string rule, long raisedAt, AlertAction? action, ClaimsPrincipal user, ApiCaller caller, IGrainFactory grains) =>
            {
                if (caller.NameOf(user, action?.By) is not { } by)
                {
                    return Results.Problem("'by' must name the person clearing", statusCode: StatusCodes.Status400BadRequest);
                }

                return Answer(await grains.GetGrain<ISensorGrain>(sensor).ClearAlert($"{sensor}/{rule}/{raisedAt}", by));
            })
            .WithName("ClearAlert")
            .WithSummary("Clears an alert, under the caller's name")
            .Produces<AlertInfo>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(ApiRoles.Technician);
        return app;
    }

    /// <summary>Active alerts: newest raised first.</summary>
    static readonly PageOrder<AlertInfo> ActiveOrder = new(a => a.RaisedAtMs, descending: true, a => a.Id);

    /// <summary>Finished alerts: newest cleared first.</summary>
    static readonly PageOrder<AlertInfo> RecentOrder = new(a => a.ClearedAtMs ?? a.RaisedAtMs, descending: true, a => a.Id);

    static IResult Answer(AlertCommandResult result) => result switch
    {
        { Succeeded: true } => Results.Ok(result.Alert),
        { Alert: null } => Results.Problem(result.Error, statusCode: StatusCodes.Status404NotFound),
        _ => Results.Problem(result.Error, statusCode: StatusCodes.Status409Conflict),
    };
}
