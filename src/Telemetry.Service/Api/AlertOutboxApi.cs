using Telemetry.Contracts;
using Telemetry.Grains.Alerts.Delivery;
using Telemetry.Service.Security;

namespace Telemetry.Service.Api;

/// <summary>
/// <c>GET /api/alerts/outbox</c> (role viewer, like <c>/api/cluster</c>: figures about delivery, no action): one
/// <see cref="OutboxStatus"/> per configured destination, in configuration order (docs/alerts.md, "Delivery").
/// </summary>
public static class AlertOutboxApi
{
    public static WebApplication MapAlertOutboxApi(this WebApplication app)
    {
        app.MapGet("/api/alerts/outbox", async (IAlertDestinations destinations, IGrainFactory grains) =>
        {
            var statuses = await Task.WhenAll(destinations.All.Select(d => grains.GetGrain<IAlertOutboxGrain>(d.Name).GetStatus()));
            return Results.Ok(statuses);
        }).RequireAuthorization(ApiRoles.Viewer);
        return app;
    }
}
