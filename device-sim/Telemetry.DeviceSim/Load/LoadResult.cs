namespace Telemetry.DeviceSim.Load;

/// <summary>
/// The outcome of a load run. "Messages" are MQTT PUBLISH packets, "readings" the readings inside them.
/// Totals (<see cref="MessagesSent"/>, <see cref="ReadingsAcked"/>, …) cover the whole run, warm-up and drain
/// included; <c>Measured…</c>, the rates and the latencies cover the measured window only (acknowledgements
/// received after the warm-up and before publishing stopped). At QoS 0 there is no PUBACK: "acked" then means
/// written to the socket without error, and the latency is the time that took.
/// </summary>
public sealed record LoadResult
{
    public required string RunId { get; init; }

    /// <summary><c>publish</c>, or <c>idle</c> for a run that only held connections.</summary>
    public required string Mode { get; init; }

    public required string Broker { get; init; }

    /// <summary><c>3.1.1</c> or <c>5</c>.</summary>
    public required string Mqtt { get; init; }

    /// <summary>Connections asked for.</summary>
    public required int Connections { get; init; }

    /// <summary>Connections that reached CONNACK success.</summary>
    public required int ConnectionsEstablished { get; init; }

    /// <summary>Failed connection attempts (a connection gets <see cref="LoadOptions.ConnectAttempts"/>).</summary>
    public required long ConnectFailures { get; init; }

    /// <summary>Established connections that dropped before the run closed them.</summary>
    public required long ConnectionsLost { get; init; }

    /// <summary>Most connections open at once.</summary>
    public required int PeakConnected { get; init; }

    /// <summary>Time to establish the connections, before the warm-up.</summary>
    public required double ConnectSeconds { get; init; }

    public required double WarmupSeconds { get; init; }

    /// <summary>Length of the measured window (shorter than asked when cancelled).</summary>
    public required double DurationSeconds { get; init; }

    public required int Qos { get; init; }
    public required int Inflight { get; init; }

    /// <summary>Target size of one reading.</summary>
    public required int PayloadBytes { get; init; }

    /// <summary>Size of the first message published (a batch is about <c>readingsPerMessage × payloadBytes</c>).</summary>
    public required int MessageBytes { get; init; }

    public required int ReadingsPerMessage { get; init; }

    public required long MessagesSent { get; init; }
    public required long ReadingsSent { get; init; }
    public required long MessagesAcked { get; init; }

    /// <summary>Readings of acknowledged messages over the whole run: what the service must have stored.</summary>
    public required long ReadingsAcked { get; init; }

    /// <summary>QoS 1 messages whose PUBACK carried a failure reason code (MQTT 5).</summary>
    public required long MessagesRefused { get; init; }

    /// <summary>QoS 1 messages sent without any PUBACK (failed, or still waiting when the drain timeout ended).</summary>
    public required long MessagesUnacknowledged { get; init; }

    public required long MeasuredMessagesAcked { get; init; }
    public required long MeasuredReadingsAcked { get; init; }
    public required double AckedPerSecond { get; init; }
    public required double ReadingsPerSecond { get; init; }

    /// <summary>Publish→PUBACK latency of the measured window.</summary>
    public required LatencySummary LatencyMs { get; init; }

    /// <summary>Failures by kind, e.g. <c>"refused: PayloadFormatInvalid"</c> or <c>"connect: SocketException: Connection refused"</c>.</summary>
    public required IReadOnlyDictionary<string, long> Failures { get; init; }

    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>Every connection established and kept, every message acknowledged (at QoS 0: sent without error).</summary>
    public required bool Succeeded { get; init; }

    /// <summary>One sample per progress interval, from the first connect to the last disconnect.</summary>
    public required IReadOnlyList<LoadSample> Timeline { get; init; }
}

/// <summary>Latency percentiles in milliseconds; <see cref="Exact"/> when computed from every sample, else from a histogram (±0.4 %).</summary>
public sealed record LatencySummary(double P50, double P95, double P99, double P999, double Max, double Mean, long Samples, bool Exact)
{
    public static LatencySummary Empty { get; } = new(0, 0, 0, 0, 0, 0, 0, Exact: true);
}

/// <summary>Phases of a load run, in order.</summary>
public enum LoadPhase
{
    Connecting,
    WarmingUp,
    Measuring,
    Holding,
    Draining,
    Disconnecting,
    Done,
}

/// <summary>
/// The state at one progress tick. Totals are since the start; rates and <see cref="P99Ms"/> cover the interval since
/// the previous sample. <see cref="Warning"/> is set once when something needs attention.
/// </summary>
public sealed record LoadSample(
    double Seconds,
    LoadPhase Phase,
    int Connected,
    long ConnectFailures,
    long ConnectionsLost,
    long MessagesSent,
    long MessagesAcked,
    long InFlight,
    long Failures,
    double SentPerSecond,
    double AckedPerSecond,
    double? P99Ms,
    string? Warning = null);
