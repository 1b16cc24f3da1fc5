namespace Telemetry.Storage.Spool;

/// <summary>
/// Whether the grains are fed from the spool (<see cref="IGrainFeed"/>): a second consumer whose consumed position is
/// saved with the checkpoint, holds back the deletion of segments and counts against the spool's capacity.
/// <para>
/// Set in code by the host that runs a grain feeder (<see cref="StorageServiceCollectionExtensions.AddSpoolGrainFeed"/>),
/// never bound from configuration: the service always feeds its grains, and turning the feed off there would delete
/// records the grains have not applied. A spool used alone (the spool benchmark, the storage tests) leaves it off, so
/// that it neither keeps segments nor fills up waiting for a consumer that does not exist.
/// </para>
/// </summary>
public sealed class SpoolFeedSwitch
{
    public bool Enabled { get; set; }
}
