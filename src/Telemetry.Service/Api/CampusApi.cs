using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Service.Security;

namespace Telemetry.Service.Api;

/// <summary>
/// Rooms, buildings and the campus, answered from their grains (current figures, not InfluxDB queries):
/// <c>GET /api/buildings</c> (campus figures with every building), <c>GET /api/buildings/{building}</c> (with its
/// rooms), <c>GET /api/rooms/{building}/{room}</c> (with its sensors). Unknown ids are 404. Role: viewer.
/// </summary>
public static class CampusApi
{
    public static WebApplication MapCampusApi(this WebApplication app)
    {
        app.MapGet("/api/buildings", async (ICampusRegistrySource registry, IGrainFactory grains) =>
            Results.Ok(await grains.GetGrain<ICampusGrain>(registry.Current.Campus.Id).GetState()))
            .WithName("GetCampus")
            .WithSummary("The campus figures with every building")
            .Produces<CampusState>()
            .RequireAuthorization(ApiRoles.Viewer);

        app.MapGet("/api/buildings/{building}", async (string building, ICampusRegistrySource registry, IGrainFactory grains) =>
            registry.Current.FindBuilding(building) is null
                ? Results.Problem($"building '{building}' is not in the campus registry", statusCode: StatusCodes.Status404NotFound)
                : Results.Ok(await grains.GetGrain<IBuildingGrain>(building).GetState(withRooms: true)))
            .WithName("GetBuilding")
            .WithSummary("A building's figures with its rooms")
            .Produces<BuildingState>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .RequireAuthorization(ApiRoles.Viewer);

        app.MapGet("/api/rooms/{building}/{room}", async (string building, string room, ICampusRegistrySource registry, IGrainFactory grains) =>
            registry.Current.FindRoom(building, room) is null
                ? Results.Problem($"room '{building}/{room}' is not in the campus registry", statusCode: StatusCodes.Status404NotFound)
                : Results.Ok(await grains.GetGrain<IRoomGrain>(CampusKeys.Room(building, room)).GetState()))
            .WithName("GetRoom")
            .WithSummary("A room's figures with its sensors")
            .Produces<RoomState>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .RequireAuthorization(ApiRoles.Viewer);
        return app;
    }
}
