using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Grains.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Storage;
using Telemetry.Storage.Schema;

namespace Telemetry.Grains.Campus;

/// <summary>
/// A building: its figures are computed on demand from its rooms' grains (so the API answers with the rooms' current
/// state), and written as <c>building_state</c> every <c>Campus:StateInterval</c>.
/// </summary>
public sealed class BuildingGrain(
    ICampusRegistrySource registry,
    ITelemetryWriter writer,
    IOptions<CampusOptions> options,
    TimeProvider time,
    ILogger<BuildingGrain> logger) : Grain, IBuildingGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var interval = options.Value.StateInterval;
        this.RegisterGrainTimer(WriteStateAsync, new GrainTimerCreationOptions(interval, interval) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public async Task<BuildingState> GetState(bool withRooms)
    {
        var id = this.GetPrimaryKeyString();
        var building = registry.Current.FindBuilding(id);
        var roomIds = building?.Rooms.Select(r => r.Id).ToList() ?? [];
        var rooms = await Task.WhenAll(roomIds.Select(r => GrainFactory.GetGrain<IRoomGrain>(CampusKeys.Room(id, r)).GetState()));
        var active = await GrainFactory.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).GetActive();
        return BuildingFigures.Compute(id, building?.Name ?? id, rooms, active.Count(a => a.Building == id), withRooms);
    }

    async Task WriteStateAsync(CancellationToken cancellationToken)
    {
        try
        {
            var state = await GetState(withRooms: false);
            await writer.WriteDerivedAsync([SeriesLines.Building(state, time.GetUtcNow().ToUnixTimeMilliseconds())], cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogWarning("Could not write building_state of {Building}: {Error}", this.GetPrimaryKeyString(), ex.Message);
        }
    }
}

/// <summary>Sums of rooms into a building and of buildings into the campus.</summary>
public static class BuildingFigures
{
    public static BuildingState Compute(string id, string name, IReadOnlyList<RoomState> rooms, int alertsActive, bool withRooms)
    {
        ArgumentNullException.ThrowIfNull(rooms);
        var people = rooms.Sum(r => r.People ?? 0);
        var capacity = rooms.Sum(r => r.Capacity);
        var energyRooms = rooms.Where(r => r.EnergyKwh is not null).ToList();
        return new BuildingState(id, name, people, capacity,
            capacity > 0 ? Math.Round(100.0 * people / capacity, 1) : null,
            Math.Round(rooms.Sum(r => r.PowerKw ?? 0), 3),
            energyRooms.Count == 0 ? null : Math.Round(energyRooms.Sum(r => r.EnergyKwh!.Value), 3),
            rooms.Sum(r => r.SensorsOnline), rooms.Sum(r => r.SensorsTotal), alertsActive,
            withRooms ? rooms : []);
    }

    public static CampusState Compute(CampusInfo campus, IReadOnlyList<BuildingState> buildings,
        IReadOnlyDictionary<AlertSeverity, int> alertsBySeverity)
    {
        ArgumentNullException.ThrowIfNull(campus);
        ArgumentNullException.ThrowIfNull(buildings);
        var people = buildings.Sum(b => b.People);
        var capacity = buildings.Sum(b => b.Capacity);
        var energy = buildings.Where(b => b.EnergyKwh is not null).ToList();
        return new CampusState(campus.Id, campus.Name, people, capacity,
            capacity > 0 ? Math.Round(100.0 * people / capacity, 1) : null,
            Math.Round(buildings.Sum(b => b.PowerKw), 3),
            energy.Count == 0 ? null : Math.Round(energy.Sum(b => b.EnergyKwh!.Value), 3),
            buildings.Sum(b => b.SensorsOnline), buildings.Sum(b => b.SensorsTotal), alertsBySeverity, buildings);
    }
}
