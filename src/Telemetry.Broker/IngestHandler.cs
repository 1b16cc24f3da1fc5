using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Telemetry.Broker.Identity;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;

namespace Telemetry.Broker;

/// <summary>
/// Where a device message enters: runs inside MQTTnet's receive loop of the sending client, so the QoS 1 PUBACK
/// (QoS 2 PUBREC) goes out only after this returns. A message is either
/// <list type="bullet">
/// <item>refused — wrong topic or bad payload: counted and logged with its reason, nothing of it is written;
///   MQTT 5 clients get the reason code and string in their PUBACK, 3.1.1 clients a plain PUBACK (3.1.1 has no way
///   to say no, and without one the device would resend the same bad message forever);</item>
/// <item>accepted — handed to its sensor's grain, which returns once the readings are durable in the spool;</item>
/// <item>failed — they could not be made durable (spool full for too long, disk error, stopping): the connection is
///   closed without an acknowledgement, so the device still holds the message and sends it again.</item>
/// </list>
/// Device messages are never forwarded to MQTT subscribers (<c>ProcessPublish = false</c>).
/// </summary>
public sealed class IngestHandler(
    IGrainFactory grains,
    ICampusRegistrySource registry,
    IOptionsMonitor<IngestLimits> limits,
    PublishAuthorizer authorizer,
    RefusalLog refusals,
    CardinalityGuard cardinality,
    TelemetryMetrics metrics,
    TimeProvider time,
    ILogger<IngestHandler> logger)
{
    readonly AcceptedCounts accepted = new(metrics);

    /// <summary>Messages accepted since start: written to service_stats, and exported as the metric.</summary>
    public long MessagesAccepted => accepted.Messages;

    public long ReadingsAccepted => accepted.Readings;

    public async Task InterceptAsync(InterceptingPublishEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.SessionItems.Contains(ServiceMessages.Marker))
        {
            // The service's own messages (alerts), injected by the broker: delivered to subscribers as they are.
            return;
        }

        args.ProcessPublish = false;
        var message = args.ApplicationMessage;
        var receivedAtMs = time.GetUtcNow().ToUnixTimeMilliseconds();

        if ((int)message.QualityOfServiceLevel > (int)MqttQualityOfServiceLevel.ExactlyOnce)
        {
            // MQTT forbids QoS 3 (a malformed packet, to be answered by closing the connection), yet MQTTnet hands it
            // to this interceptor first: refuse it here and close the connection as the specification says.
            Refuse(args, new Refusal(RefusalReason.InvalidQos, $"QoS {(int)message.QualityOfServiceLevel} does not exist; the connection is closed"));
            args.CloseConnection = true;
            return;
        }

        if (authorizer.IsForgedAlert(message.Topic, out var refusal)
            || !TelemetryTopic.TryParse(message.Topic, out var address, out var format, out refusal)
            || !authorizer.MayPublish(ConnectionIdentity.Of(args.SessionItems), args.ClientId, address.Sensor, out refusal)
            || !IsAllowed(address, out var sensor, out refusal))
        {
            Refuse(args, refusal);
            return;
        }

        if (format == PayloadFormat.Status)
        {
            await StatusAsync(args, address, receivedAtMs);
            return;
        }

        if (!(format == PayloadFormat.Senml
                ? SenmlParser.TryParse(message.Payload, address.Sensor, receivedAtMs, limits.CurrentValue, sensor?.Kind.Metrics, out var readings, out refusal)
                : PayloadParser.TryParse(message.Payload, receivedAtMs, limits.CurrentValue, out readings, out refusal))
            || !cardinality.TryAdmit(address.Sensor, sensor, readings, limits.CurrentValue, out refusal))
        {
            Refuse(args, refusal);
            return;
        }

        try
        {
            await SensorGrainOf(args, address.Sensor).Ingest(new TelemetryMessage(address, readings, receivedAtMs));
            accepted.Add(readings.Count);
        }
        catch (Exception ex)
        {
            // Out of memory included: one message that could not be made durable is not acknowledged; the host goes on.
            var reason = ex switch
            {
                OutOfMemoryException => "out_of_memory",
                OperationCanceledException => "stopping",
                TimeoutException => "spool_full",
                IOException or UnauthorizedAccessException => "disk_error",
                _ => "grain_call_failed",
            };
            metrics.MessagesFailed.Add(1, new KeyValuePair<string, object?>("reason", reason));
            logger.LogWarning("Could not accept a message of {ClientId} for sensor {Sensor} ({Reason}); closing the connection without acknowledgement so the device sends it again: {Error}",
                Text.ForLog(args.ClientId), address.Sensor, reason, ex.Message);
            args.CloseConnection = true;
            args.Response.ReasonCode = MqttPubAckReasonCode.UnspecifiedError;
            args.Response.ReasonString = "not stored; send again";
        }
    }

    /// <summary>
    /// A device's status message, usually its Last Will sent by the broker when the connection broke: <c>offline</c>
    /// starts the sensor's disconnect grace like a disconnect does; <c>online</c> is taken and needs nothing (the next
    /// reading shows it). Anything else is refused.
    /// </summary>
    async Task StatusAsync(InterceptingPublishEventArgs args, SensorAddress address, long receivedAtMs)
    {
        var payload = args.ApplicationMessage.Payload;
        var text = payload.Length > 64 ? "(too long)" : System.Text.Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(payload)).Trim();
        if (string.Equals(text, "online", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        if (!string.Equals(text, "offline", StringComparison.OrdinalIgnoreCase))
        {
            Refuse(args, new Refusal(RefusalReason.NotAReading, $"a status payload is 'online' or 'offline', not '{Text.Visible(text.Length > 40 ? text[..40] + "…" : text)}'"));
            return;
        }

        await TellAsync([address.Sensor], args.ClientId, "its offline status", static (grain, atMs) => grain.Disconnected(atMs), receivedAtMs);
    }

    /// <summary>A sensor the registry does not list is accepted or refused as the registry's <c>unregistered</c> policy says.</summary>
    bool IsAllowed(SensorAddress address, out RegisteredSensor? sensor, out Refusal refusal)
    {
        var current = registry.Current;
        sensor = current.FindSensor(address.Sensor);
        refusal = default;
        if (sensor is null && current.Unregistered == UnregisteredPolicy.Refuse)
        {
            refusal = new Refusal(RefusalReason.SensorNotRegistered,
                $"sensor '{address.Sensor}' is not in the campus registry, which refuses unregistered sensors");
            return false;
        }

        return true;
    }

    /// <summary>
    /// The grain reference of the connection's sensor, kept in the MQTT session: a device publishes for one sensor,
    /// so the reference (whose creation resolves the grain type every time) is made once per connection. The session
    /// also remembers which sensors published on it, so their grains hear when the connection goes away.
    /// </summary>
    ISensorGrain SensorGrainOf(InterceptingPublishEventArgs args, string sensor)
    {
        if (args.SessionItems[SessionGrainKey] is SessionGrain cached && cached.Sensor == sensor)
        {
            return cached.Grain;
        }

        var grain = grains.GetGrain<ISensorGrain>(sensor);
        args.SessionItems[SessionGrainKey] = new SessionGrain(sensor, grain);
        if (args.SessionItems[SessionSensorsKey] is not HashSet<string> sensors)
        {
            args.SessionItems[SessionSensorsKey] = sensors = new HashSet<string>(StringComparer.Ordinal);
        }

        if (sensors.Count < MaxSensorsPerSession && sensors.Add(sensor))
        {
            clientSensors[args.ClientId] = [.. sensors];
        }

        return grain;
    }

    /// <summary>
    /// A connection has closed: the sensors that published on it start their disconnect grace period (docs/alerts.md).
    /// A takeover is the same device connecting again, so it is not a disconnect. A connection that published nothing
    /// counts for the sensors its client id published for before: its connect ended their grace, so its disconnect
    /// starts it again.
    /// </summary>
    public async Task OnDisconnectedAsync(ClientDisconnectedEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.DisconnectType == MqttClientDisconnectType.Takeover)
        {
            return;
        }

        var sensors = args.SessionItems[SessionSensorsKey] as IEnumerable<string>
            ?? (clientSensors.TryGetValue(args.ClientId, out var known) ? known : null);
        if (sensors is null)
        {
            return;
        }

        await TellAsync(sensors, args.ClientId, "that its client disconnected", static (grain, atMs) => grain.Disconnected(atMs),
            time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    /// <summary>
    /// A client connected: the sensors it published for on an earlier connection end their disconnect grace (a device
    /// whose 5G link dropped and came back is not offline because its next reading is not due yet).
    /// </summary>
    public async Task OnConnectedAsync(ClientConnectedEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (!clientSensors.TryGetValue(args.ClientId, out var sensors))
        {
            return;
        }

        await TellAsync(sensors, args.ClientId, "that its client connected again", static (grain, atMs) => grain.Connected(atMs),
            time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    /// <summary>
    /// Passes a connection event to each sensor's grain. A grain that cannot be told is logged and skipped: offline
    /// detection by silence still applies, only the faster signal is lost for it.
    /// </summary>
    async Task TellAsync(IEnumerable<string> sensors, string clientId, string what, Func<ISensorGrain, long, Task> tell, long atMs)
    {
        foreach (var sensor in sensors)
        {
            try
            {
                await tell(grains.GetGrain<ISensorGrain>(sensor), atMs);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                logger.LogWarning("Could not tell sensor {Sensor} {What} (client {ClientId}): {Error}", sensor, what, Text.ForLog(clientId), ex.Message);
            }
        }
    }

    /// <summary>
    /// The sensors each client id published for, kept across its connections (a reconnect is a new MQTT session with
    /// empty session items). One small entry per device that ever published.
    /// </summary>
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, string[]> clientSensors = new(StringComparer.Ordinal);

    /// <summary>A gateway may publish for many sensors; beyond this many, only silence reveals that they are offline.</summary>
    const int MaxSensorsPerSession = 10_000;

    static readonly object SessionGrainKey = new();
    static readonly object SessionSensorsKey = new();

    sealed record SessionGrain(string Sensor, ISensorGrain Grain);

    void Refuse(InterceptingPublishEventArgs args, Refusal refusal)
    {
        refusals.Record(args.ClientId, args.ApplicationMessage.Topic, refusal);
        args.Response.ReasonCode = refusal.Reason switch
        {
            RefusalReason.TopicNotAllowed or RefusalReason.InvalidTopicSegment or RefusalReason.InvalidTopicName => MqttPubAckReasonCode.TopicNameInvalid,
            RefusalReason.InvalidQos => MqttPubAckReasonCode.UnspecifiedError,
            RefusalReason.SensorNotRegistered or RefusalReason.SensorNotAllowed or RefusalReason.ForgedAlert => MqttPubAckReasonCode.NotAuthorized,
            RefusalReason.SensorMetricLimit or RefusalReason.KindMetricLimit
                or RefusalReason.TooManyNewSensors or RefusalReason.UnregisteredSensorLimit => MqttPubAckReasonCode.QuotaExceeded,
            _ => MqttPubAckReasonCode.PayloadFormatInvalid,
        };
        args.Response.ReasonString = refusal.ToString();
    }

    /// <summary>The accepted counts: one source for service_stats and for the metrics.</summary>
    sealed class AcceptedCounts
    {
        long messages;
        long readings;

        public AcceptedCounts(TelemetryMetrics metrics) => metrics.ObserveAccepted(() => Messages, () => Readings);

        public long Messages => Interlocked.Read(ref messages);

        public long Readings => Interlocked.Read(ref readings);

        public void Add(int readingCount)
        {
            Interlocked.Increment(ref messages);
            Interlocked.Add(ref readings, readingCount);
        }
    }
}
