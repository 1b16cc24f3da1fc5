using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Storage;
using Telemetry.Storage.Schema;

namespace Telemetry.Grains.Campus;

/// <summary>
/// A room: keeps its sensors' latest reports and writes <c>room_state</c> every <c>Campus:StateInterval</c>.
/// Its state is derived (every sensor reports again on its next message and on every online/offline change), so it
/// is not persisted.
/// </summary>
public sealed class RoomGrain(
    ICampusRegistrySource registry,
    ITelemetryWriter writer,
    IOptions<CampusOptions> options,
    TimeProvider time,
    ILogger<RoomGrain> logger) : Grain, IRoomGrain
{
    readonly Dictionary<string, SensorReport> reports = new(StringComparer.Ordinal);
    string building = "";
    string room = "";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (building, room) = CampusKeys.ParseRoom(this.GetPrimaryKeyString());
        var interval = options.Value.StateInterval;
        this.RegisterGrainTimer(WriteStateAsync, new GrainTimerCreationOptions(interval, interval) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task Report(SensorReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        reports[report.Sensor] = report;
        return Task.CompletedTask;
    }

    public Task<RoomState> GetState() => Task.FromResult(Compute());

    RoomState Compute()
    {
        var current = registry.Current;
        return RoomFigures.Compute(building, room, current.FindRoom(building, room), current.Comfort, reports);
    }

    async Task WriteStateAsync(CancellationToken cancellationToken)
    {
        try
        {
            await writer.WriteDerivedAsync([SeriesLines.Room(Compute(), time.GetUtcNow().ToUnixTimeMilliseconds())], cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The next tick writes the then current state; nothing is owed to anyone for this one.
            logger.LogWarning("Could not write room_state of {Building}/{Room}: {Error}", building, room, ex.Message);
        }
    }
}
