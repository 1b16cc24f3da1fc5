using Telemetry.Domain.Alerts;
using Telemetry.Domain.Rollups;
using Telemetry.Domain.Sensors;
using Telemetry.Grains.Persistence;

namespace Telemetry.Grains.Sensors;

/// <summary>What a registered sensor's grain keeps across restarts (JSON, see <see cref="DurableFileGrainStorage"/>).</summary>
public sealed class SensorGrainState
{
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
