using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Grains.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Storage;
using Telemetry.Storage.Schema;

namespace Telemetry.Grains.Campus;

/// <summary>
/// The campus: starts every registered sensor, room and building (so a sensor that never reports still goes offline
/// on time, and every room writes its state), again after each registry reload; computes the campus figures from the
/// buildings and writes <c>campus_state</c> every <c>Campus:StateInterval</c>.
/// </summary>
public sealed class CampusGrain(
    ICampusRegistrySource registry,
    ITelemetryWriter writer,
    IOptions<CampusOptions> options,
    TimeProvider time,
    ILogger<CampusGrain> logger) : Grain, ICampusGrain
{
    CampusRegistry? started;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var interval = options.Value.StateInterval;
        this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(interval, interval) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public async Task Start()
    {
        var current = registry.Current;
        if (ReferenceEquals(current, started))
        {
            return;
        }

        started = current;
        var sensors = current.Sensors.ToList();
        var failed = new List<string>();
        foreach (var chunk in sensors.Chunk(256))
        {
            failed.AddRange((await Task.WhenAll(chunk.Select(s => StartSensorAsync(s.Id)))).OfType<string>());
        }

        await Task.WhenAll(current.Buildings.Select(b => GrainFactory.GetGrain<IBuildingGrain>(b.Id).GetState(withRooms: false)));
        logger.LogInformation("Campus {Campus}: started {Buildings} buildings, {Rooms} rooms, {Sensors} registered sensors",
            current.Campus.Id, current.Buildings.Count, current.Buildings.Sum(b => b.Rooms.Count), sensors.Count - failed.Count);
        if (failed.Count > 0)
        {
            // Not retried here: a campus start that failed for one sensor would loop on it. The sensor's first message
            // activates it again; until then its offline clock does not run.
            logger.LogError("Campus {Campus}: {Count} registered sensor(s) did not start: {Sensors}",
                current.Campus.Id, failed.Count, string.Join(", ", failed.Take(20)));
        }
    }

    /// <summary>Starts one sensor; returns its id if it failed (logged), so one bad sensor does not stop the others.</summary>
    async Task<string?> StartSensorAsync(string sensorId)
    {
        try
        {
            await GrainFactory.GetGrain<ISensorGrain>(sensorId).Start();
            return null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogWarning("Sensor {Sensor} did not start: {Error}", sensorId, ex.Message);
            return sensorId;
        }
    }

    public async Task<CampusState> GetState()
    {
        var current = registry.Current;
        var buildings = await Task.WhenAll(current.Buildings.Select(b => GrainFactory.GetGrain<IBuildingGrain>(b.Id).GetState(withRooms: false)));
        var active = await GrainFactory.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).GetActive();
        var bySeverity = active.GroupBy(a => a.Severity).ToDictionary(g => g.Key, g => g.Count());
        return BuildingFigures.Compute(current.Campus, buildings, bySeverity);
    }

    async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Start(); // no-op unless the registry was reloaded
            var state = await GetState();
            await writer.WriteDerivedAsync([SeriesLines.Campus(state, time.GetUtcNow().ToUnixTimeMilliseconds())], cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogWarning("Could not write campus_state: {Error}", ex.Message);
        }
    }
}
