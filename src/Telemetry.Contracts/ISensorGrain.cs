namespace Telemetry.Contracts;

/// <summary>One grain per sensor, keyed by the sensor id (unique across the campus).</summary>
[Alias("Telemetry.ISensorGrain")]
public interface ISensorGrain : IGrainWithStringKey
{
    /// <summary>
    /// Takes the readings of one message. Completes only when the write pipeline has accepted them
    /// (see docs/contract.md for what "accepted" guarantees); faults when it could not.
    /// </summary>
    [Alias("Ingest")]
    Task Ingest(TelemetryMessage message);

    /// <summary>The last reading and counters, or null when this sensor has not reported since activation.</summary>
    [Alias("GetSnapshot")]
    Task<SensorSnapshot?> GetSnapshot();
}
