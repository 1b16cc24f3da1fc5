namespace Telemetry.DeviceSim.Progress;

/// <summary>Running totals since the start of a run, reported every <see cref="SimulatorOptions.ProgressInterval"/>.</summary>
public sealed record ProgressSnapshot(
    TimeSpan Elapsed,
    int Devices,
    int Connected,
    long MessagesSent,
    long ReadingsSent,
    long MessagesAcked,
    long MessagesRefused,
    long MessagesFailed,
    long InFlight,
    long ConnectFailures,
    long Reconnects)
{
    /// <summary>Simulated time now (campus clock of the run).</summary>
    public DateTimeOffset? SimulatedTime { get; init; }

    /// <summary>Readings devices kept while without connectivity, so far.</summary>
    public long ReadingsStored { get; init; }

    /// <summary>Malformed messages published on purpose, so far.</summary>
    public long MalformedSent { get; init; }
}
