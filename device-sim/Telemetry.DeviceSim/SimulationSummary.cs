using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Telemetry.DeviceSim;

/// <summary>The outcome of a run. Message counts are MQTT PUBLISH packets; reading counts are readings inside them.</summary>
public sealed record SimulationSummary
{
    public required int Seed { get; init; }
    public required TimeSpan Elapsed { get; init; }
    public required MqttQualityOfServiceLevel Qos { get; init; }
    public required MqttProtocolVersion ProtocolVersion { get; init; }

    public required int Devices { get; init; }

    /// <summary>Devices that connected at least once.</summary>
    public required int DevicesConnected { get; init; }

    /// <summary>Connection attempts that failed (each was retried with backoff until the run stopped).</summary>
    public required long ConnectFailures { get; init; }

    /// <summary>Successful connects after a device's connection had dropped.</summary>
    public required long Reconnects { get; init; }

    public required long MessagesSent { get; init; }
    public required long ReadingsSent { get; init; }

    /// <summary>QoS 1 messages with a successful PUBACK (always 0 at QoS 0).</summary>
    public required long MessagesAcked { get; init; }
    public required long ReadingsAcked { get; init; }

    /// <summary>QoS 1 messages whose PUBACK carried a failure reason code (MQTT 5); malformed messages sent on purpose are not counted here.</summary>
    public required long MessagesRefused { get; init; }
    public required IReadOnlyDictionary<MqttClientPublishReasonCode, long> RefusedByReason { get; init; }

    /// <summary>Publishes that threw or got no PUBACK within the ack timeout, while running.</summary>
    public required long MessagesFailed { get; init; }

    /// <summary>Publishes still waiting for their PUBACK when the drain timeout after stopping ended.</summary>
    public required long MessagesAbandoned { get; init; }

    /// <summary>Errors by kind (connect, publish, disconnect), e.g. <c>"connect: SocketException: Connection refused"</c>.</summary>
    public required IReadOnlyDictionary<string, long> Errors { get; init; }

    /// <summary>What each sensor sent and had acknowledged, by sensor id.</summary>
    public required IReadOnlyDictionary<string, SensorTally> Sensors { get; init; }

    /// <summary>Time acceleration of the run (1: real time).</summary>
    public double Speed { get; init; } = 1;

    /// <summary>Whether the run was a backfill (as fast as acknowledged, <see cref="Speed"/> unused).</summary>
    public bool Backfill { get; init; }

    /// <summary>Simulated time when the run started and when it stopped.</summary>
    public DateTimeOffset SimulatedStart { get; init; }
    public DateTimeOffset SimulatedEnd { get; init; }

    /// <summary>
    /// The faults that began before the run stopped (sensor, fault, simulated start and end), in start order: what the
    /// service's alerts should match.
    /// </summary>
    public IReadOnlyList<InjectedFault> Faults { get; init; } = [];

    /// <summary>Times a device lost connectivity (scenario behaviour), and readings it kept in its local store meanwhile.</summary>
    public long ConnectivityLosses { get; init; }
    public long ReadingsStored { get; init; }

    /// <summary>Readings not taken because their device was offline (offline fault).</summary>
    public long ReadingsSkipped { get; init; }

    /// <summary>Readings dropped because a device's local store was full.</summary>
    public long ReadingsDropped { get; init; }

    /// <summary>Malformed messages published on purpose, and how many of them the broker refused (expected refusals).</summary>
    public long MalformedSent { get; init; }
    public long MalformedRefused { get; init; }

    /// <summary>QoS 1 messages sent without a PUBACK of any kind (failed or abandoned).</summary>
    public long MessagesUnacknowledged =>
        Qos == MqttQualityOfServiceLevel.AtMostOnce ? 0 : MessagesSent - MessagesAcked - MessagesRefused - MalformedRefused;

    /// <summary>Every device connected and every message was delivered (acknowledged, at QoS 1) without errors.</summary>
    public bool Succeeded =>
        DevicesConnected == Devices && MessagesRefused == 0 && MessagesFailed == 0 && MessagesAbandoned == 0
        && MessagesUnacknowledged == 0;
}
