using System.Security.Claims;
using Telemetry.Contracts;
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
        app.MapGet("/api/alerts", async (string? state, int? max, IGrainFactory grains) =>
        {
            var index = grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key);
            return state switch
            {
                null or "" or "active" => Results.Ok(await index.GetActive()),
                "recent" => Results.Ok(await index.GetRecent(max ?? 100)),
                _ => Results.Problem($"state must be 'active' or 'recent', not '{state}'", statusCode: StatusCodes.Status400BadRequest),
            };
        }).RequireAuthorization(ApiRoles.Viewer);

        app.MapGet("/api/alerts/{sensor}/{rule}/{raisedAt:long}", async (string sensor, string rule, long raisedAt, IGrainFactory grains) =>
        {
            var alert = await grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).Find($"{sensor}/{rule}/{raisedAt}");
            return alert is null ? Results.Problem("no such alert", statusCode: StatusCodes.Status404NotFound) : Results.Ok(alert);
        }).RequireAuthorization(ApiRoles.Viewer);

        app.MapPost("/api/alerts/{sensor}/{rule}/{raisedAt:long}/ack",
            async (string sensor, string rule, long raisedAt, AlertAction? action, ClaimsPrincipal user, ApiCaller caller, IGrainFactory grains) =>
            {
                if (caller.NameOf(user, action?.By) is not { } by)
                {
                    return Results.Problem("'by' must name the person acknowledging", statusCode: StatusCodes.Status400BadRequest);
                }

                return Answer(await grains.GetGrain<ISensorGrain>(sensor).Acknowledge($"{sensor}/{rule}/{raisedAt}", by, action?.Note));
            }).RequireAuthorization(ApiRoles.Technician);

        app.MapPost("/api/alerts/{sensor}/{rule}/{raisedAt:long}/clear",
            async (string sensor, string rule, long raisedAt, AlertAction? action, ClaimsPrincipal user, ApiCaller caller, IGrainFactory grains) =>
            {
                if (caller.NameOf(user, action?.By) is not { } by)
                {
                    return Results.Problem("'by' must name the person clearing", statusCode: StatusCodes.Status400BadRequest);
                }

                return Answer(await grains.GetGrain<ISensorGrain>(sensor).ClearAlert($"{sensor}/{rule}/{raisedAt}", by));
            }).RequireAuthorization(ApiRoles.Technician);
        return app;
    }

    static IResult Answer(AlertCommandResult result) => result switch
    {
        { Succeeded: true } => Results.Ok(result.Alert),
        { Alert: null } => Results.Problem(result.Error, statusCode: StatusCodes.Status404NotFound),
        _ => Results.Problem(result.Error, statusCode: StatusCodes.Status409Conflict),
    };
}
