using Orleans.Concurrency;

namespace Telemetry.Contracts;

/// <summary>One grain per sensor, keyed by the sensor id (unique across the campus).</summary>
[Alias("Telemetry.ISensorGrain")]
public interface ISensorGrain : IGrainWithStringKey
{
    /// <summary>
    /// Takes messages that are already durable in one node's spool, in spool order (the grain feeder's batch of the
    /// moment for this sensor). A message at or before the position this grain has recorded for that spool is skipped:
    /// it is a replay after a crash of something already applied. Completes when the messages are applied and their
    /// derived lines (closed roll-up windows, alert steps) are durable. A batch whose <see cref="FeedBatch.HandedBefore"/>
    /// lies beyond the grain's recorded position is set aside (nothing applied): the grain lost messages handed to it
    /// before, and <see cref="Checkpoint"/> tells the feeder so.
    /// </summary>
    [Alias("IngestBatch")]
    Task IngestBatch(FeedBatch batch);

    /// <summary>
    /// Saves the grain's state if it took messages since its last save; completes when it is saved, with whether the
    /// saved state holds every message of the spool <paramref name="spoolId"/> up to <paramref name="handedUpTo"/> (the
    /// last message that node's grain feeder handed this grain; null: nothing to check). False means messages handed
    /// to this grain were lost with its node before it saved them: the feeder rewinds and feeds them again.
    /// </summary>
    [Alias("CheckpointAt")]
    Task<bool> Checkpoint(string spoolId, FeedPosition? handedUpTo);

    /// <summary>The last reading and counters, or null when this sensor has not reported since activation.</summary>
    /// <remarks>A pure read: it may run while a batch waits for the spool.</remarks>
    [Alias("GetSnapshot"), AlwaysInterleave]
    Task<SensorSnapshot?> GetSnapshot();

    /// <summary>Wakes the grain so its offline clock runs (registered sensors are started with the campus).</summary>
    [Alias("Start")]
    Task Start();

    /// <summary>The MQTT connection this sensor published on has closed (cleanly or not) at <paramref name="atMs"/>.</summary>
    [Alias("Disconnected")]
    Task Disconnected(long atMs);

    /// <summary>A client that published for this sensor before has connected again at <paramref name="atMs"/>: the disconnect grace ends.</summary>
    [Alias("Connected")]
    Task Connected(long atMs);

    /// <summary>The sensor's open alerts. A pure read: it may run while a batch waits for the spool.</summary>
    [Alias("GetAlerts"), AlwaysInterleave]
    Task<IReadOnlyList<AlertInfo>> GetAlerts();

    [Alias("Acknowledge")]
    Task<AlertCommandResult> Acknowledge(string alertId, string by, string? note);

    [Alias("ClearAlert")]
    Task<AlertCommandResult> ClearAlert(string alertId, string by);
}
