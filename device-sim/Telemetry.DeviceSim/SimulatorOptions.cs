using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Telemetry.DeviceSim;

/// <summary>What to simulate and how to reach the broker. Defaults match <c>device-sim run</c>.</summary>
public sealed class SimulatorOptions
{
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 1883;
    public int Buildings { get; init; } = 3;
    public int RoomsPerBuilding { get; init; } = 10;

    /// <summary>Time between two readings of one sensor.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>At most once or at least once; exactly once is not part of the service's contract.</summary>
    public MqttQualityOfServiceLevel Qos { get; init; } = MqttQualityOfServiceLevel.AtLeastOnce;

    /// <summary>How long to publish; <c>null</c> runs until the cancellation token passed to the run fires.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary><see cref="MqttProtocolVersion.V311"/> or <see cref="MqttProtocolVersion.V500"/>.</summary>
    public MqttProtocolVersion ProtocolVersion { get; init; } = MqttProtocolVersion.V311;

    public string? Username { get; init; }
    public string? Password { get; init; }

    /// <summary>Connection attempts in flight at once, across all devices (initial connects and reconnects).</summary>
    public int MaxConcurrentConnects { get; init; } = 50;

    /// <summary>Seeds every behaviour and every jitter; <c>null</c> picks one (reported in the summary).</summary>
    public int? Seed { get; init; }

    /// <summary>
    /// Readings per message. With 1 the payload is one JSON object; above 1 a device buffers that many readings
    /// (one per <see cref="Interval"/>) and publishes them as a JSON array.
    /// </summary>
    public int ReadingsPerMessage { get; init; } = 1;

    public TimestampFormat Timestamps { get; init; } = TimestampFormat.EpochMilliseconds;

    /// <summary>How long one publish may wait for its PUBACK before it counts as failed.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one connection attempt may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After stopping, how long publishes already in flight may still wait for their PUBACK.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the progress callback is called.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Keep every acknowledged reading in <see cref="SensorTally.AcknowledgedReadings"/> (for tests; costs memory).</summary>
    public bool RecordAcknowledgedReadings { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        Require(!string.IsNullOrWhiteSpace(Host), nameof(Host), "must not be empty");
        Require(Port is > 0 and <= 65535, nameof(Port), "must be 1..65535");
        Require(Buildings > 0, nameof(Buildings), "must be at least 1");
        Require(RoomsPerBuilding >= 0, nameof(RoomsPerBuilding), "must not be negative");
        Require(Interval >= TimeSpan.FromMilliseconds(10), nameof(Interval), "must be at least 10ms");
        Require(Qos is MqttQualityOfServiceLevel.AtMostOnce or MqttQualityOfServiceLevel.AtLeastOnce, nameof(Qos), "must be 0 or 1");
        Require(Duration is null || Duration > TimeSpan.Zero, nameof(Duration), "must be positive");
        Require(ProtocolVersion is MqttProtocolVersion.V311 or MqttProtocolVersion.V500, nameof(ProtocolVersion), "must be 3.1.1 or 5");
        Require(Password is null || Username is not null, nameof(Password), "needs a username");
        Require(MaxConcurrentConnects > 0, nameof(MaxConcurrentConnects), "must be at least 1");
        Require(ReadingsPerMessage is > 0 and <= 1000, nameof(ReadingsPerMessage), "must be 1..1000");
        Require(AckTimeout > TimeSpan.Zero, nameof(AckTimeout), "must be positive");
        Require(ConnectTimeout > TimeSpan.Zero, nameof(ConnectTimeout), "must be positive");
        Require(DrainTimeout >= TimeSpan.Zero, nameof(DrainTimeout), "must not be negative");
        Require(ProgressInterval > TimeSpan.Zero, nameof(ProgressInterval), "must be positive");
    }

    static void Require(bool valid, string option, string rule)
    {
        if (!valid)
        {
            throw new ArgumentException($"{option} {rule}.", option);
        }
    }
}
