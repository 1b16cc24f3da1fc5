using Telemetry.Domain.Alerts;
using Telemetry.Domain.Rollups;
using Telemetry.Domain.Sensors;
using Telemetry.Grains.Persistence;
using Telemetry.Storage.Spool;

namespace Telemetry.Grains.Sensors;

/// <summary>What a sensor's grain keeps across restarts (JSON, see <see cref="DurableFileGrainStorage"/>).</summary>
public sealed class SensorGrainState
{
    /// <summary>
    /// Per spool id, the position of the last message of that spool the state includes: the grain feed replays from an
    /// older position after a crash, and the grain skips what this covers. Absent in files written before the grain
    /// feed (read as none).
    /// </summary>
    public Dictionary<string, SpoolPosition>? FeedPositions { get; set; }

    public AlertEngineState? Alerts { get; set; }

    public RollupState? Rollups { get; set; }

    public long LastSeenMs { get; set; }

    public long MessagesTotal { get; set; }

    public long ReadingsTotal { get; set; }

    internal SensorState ToModel() => new(Alerts, Rollups, LastSeenMs, MessagesTotal, ReadingsTotal);

    internal static SensorGrainState From(SensorState state) => new()
    {
        Alerts = state.Alerts,
        Rollups = state.Rollups,
        LastSeenMs = state.LastSeenMs,
        MessagesTotal = state.MessagesTotal,
        ReadingsTotal = state.ReadingsTotal,
    };
}
