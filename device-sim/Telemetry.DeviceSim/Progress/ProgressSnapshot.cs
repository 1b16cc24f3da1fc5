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
    long Reconnects);
