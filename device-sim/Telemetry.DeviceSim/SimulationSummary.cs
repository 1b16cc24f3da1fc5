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

    /// <summary>QoS 1 messages whose PUBACK carried a failure reason code (MQTT 5).</summary>
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

    /// <summary>QoS 1 messages sent without a PUBACK of any kind (failed or abandoned).</summary>
    public long MessagesUnacknowledged =>
        Qos == MqttQualityOfServiceLevel.AtMostOnce ? 0 : MessagesSent - MessagesAcked - MessagesRefused;

    /// <summary>Every device connected and every message was delivered (acknowledged, at QoS 1) without errors.</summary>
    public bool Succeeded =>
        DevicesConnected == Devices && MessagesRefused == 0 && MessagesFailed == 0 && MessagesAbandoned == 0
        && MessagesUnacknowledged == 0;
}
