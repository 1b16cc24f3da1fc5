namespace Telemetry.DeviceSim.Scenarios;

/// <summary>
/// How devices misbehave on their own, like battery sensors on a cellular (5G) network: they lose connectivity now and
/// then (keeping their readings in a local store and uploading them as batches on reconnect), their clocks are a
/// little off, and a few payloads are malformed. <see cref="None"/> turns all of it off.
/// </summary>
public sealed record DeviceBehaviour
{
    public static DeviceBehaviour None { get; } = new();

    /// <summary>The chance that a device loses connectivity in a simulated hour (0–1).</summary>
    public double ConnectivityLossPerHour { get; init; }

    /// <summary>Shortest and longest outage (simulated time); each outage's length is drawn uniformly between.</summary>
    public TimeSpan ConnectivityLossMin { get; init; } = TimeSpan.FromMinutes(2);
    public TimeSpan ConnectivityLossMax { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Each device's clock is off by a fixed amount drawn uniformly from ± this.</summary>
    public TimeSpan ClockSkewMax { get; init; }

    /// <summary>Share of messages (0–1) a device follows with an extra malformed one.</summary>
    public double MalformedRate { get; init; }
}
