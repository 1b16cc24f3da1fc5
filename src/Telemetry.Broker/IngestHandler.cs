using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Telemetry.Broker.Identity;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Storage;

namespace Telemetry.Broker;

/// <summary>
/// Where a device message enters: runs inside MQTTnet's receive loop of the sending client, which reads the client's
/// next packet only after this returns. A message is either
/// <list type="bullet">
/// <item>refused — wrong topic or bad payload: counted and logged with its reason, nothing of it is written;
///   MQTT 5 clients get the reason code and string in their PUBACK, 3.1.1 clients a plain PUBACK (3.1.1 has no way
///   to say no, and without one the device would resend the same bad message forever);</item>
/// <item>accepted — its raw lines are appended to the local spool (<see cref="ITelemetryWriter.EnqueueAsync"/>), with
///   no grain call on the way (the grains are fed from the spool afterwards). QoS 1/2: this returns once the record is
///   queued, and the PUBACK/PUBREC is held by the connection's channel adapter (<see cref="IHeldAcknowledgements"/>)
///   until the record is fsynced, so a connection's messages share group fsyncs and are acknowledged in order. QoS 0:
///   this waits for the fsync (there is no acknowledgement to hold). Counted as accepted once durable;</item>
/// <item>failed — they could not be made durable (spool full for too long, disk error, stopping): the connection is
///   closed without an acknowledgement of it or of any later message, so the device still holds them and sends them
///   again.</item>
/// </list>
/// Device messages are never forwarded to MQTT subscribers (<c>ProcessPublish = false</c>).
/// </summary>
public sealed class IngestHandler(
    SensorConnectionSignals signals,
    ITelemetryWriter writer,
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
            Status(args, address, receivedAtMs);
            return;
        }

        if (!(format == PayloadFormat.Senml
                ? SenmlParser.TryParse(message.Payload, address.Sensor, receivedAtMs, limits.CurrentValue, sensor?.Kind.Metrics, out var readings, out refusal)
                : PayloadParser.TryParse(message.Payload, receivedAtMs, limits.CurrentValue, out readings, out refusal))
            || !cardinality.TryAdmit(address, sensor, readings, limits.CurrentValue, out refusal))
        {
            Refuse(args, refusal);
            return;
        }

        Task appended;
        try
        {
            // Waits while the spool is full (TimeoutException when it stays full); the connection's next packet is not
            // read meanwhile, so a device is slowed down, not dropped.
            appended = await writer.EnqueueAsync(LineProtocol.ToLines(address, readings, unregistered: sensor is null), args.CancellationToken);
        }
        catch (Exception ex)
        {
            NotStored(args.ClientId, address.Sensor, ex, args.CancellationToken);
            NotAcknowledged(args);
            return;
        }

        PublishedOn(args.SessionItems, address.Sensor);
        var durable = DurableAsync(appended, readings.Count, args.ClientId, address.Sensor, args.CancellationToken);
        if (message.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce
            && HeldAcknowledgements.In(args.SessionItems, args.CancellationToken) is { } held
            && held.TryHold(durable))
        {
            await held.WaitForRoomAsync(args.CancellationToken);
            return;
        }

        // QoS 0 (nothing to hold; waiting keeps the memory of a fast QoS 0 sender bounded), or no channel adapter of
        // this connection to hold the acknowledgement in (a connection whose session was taken over meanwhile).
        if (!await durable)
        {
            NotAcknowledged(args);
        }
    }

    /// <summary>Completes with true once the appended message is durable (and counts it accepted), false when it cannot be.</summary>
    async Task<bool> DurableAsync(Task appended, int readingCount, string clientId, string sensor, CancellationToken connection)
    {
        try
        {
            await appended;
            accepted.Add(readingCount);
            return true;
        }
        catch (Exception ex)
        {
            NotStored(clientId, sensor, ex, connection);
            return false;
        }
    }

    /// <summary>
    /// A message that could not be made durable: counted by reason and logged. Out of memory included: one message is
    /// not acknowledged; the host goes on.
    /// </summary>
    void NotStored(string clientId, string sensor, Exception ex, CancellationToken connection)
    {
        var reason = ex switch
        {
            OutOfMemoryException => "out_of_memory",
            OperationCanceledException when connection.IsCancellationRequested => "connection_closed",
            OperationCanceledException => "stopping",
            TimeoutException => "spool_full",
            IOException or UnauthorizedAccessException => "disk_error",
            _ => "internal_error",
        };
        metrics.MessagesFailed.Add(1, new KeyValuePair<string, object?>("reason", reason));

        // At most one line per reason every 10 s: a failing disk fails every message in flight of every connection.
        if (notStoredLog.ShouldLog(reason, out var suppressed))
        {
            logger.LogWarning("Could not accept a message of {ClientId} for sensor {Sensor} ({Reason}); closing the connection without acknowledgement so the device sends it again: {Error}; {Suppressed} more for this reason since the last line",
                Text.ForLog(clientId), sensor, reason, ex.Message, suppressed);
        }
    }

    readonly LogThrottle notStoredLog = new(TimeSpan.FromSeconds(10), TimeProvider.System);

    /// <summary>No PUBACK: the connection is closed (MQTT 5: DISCONNECT 0x80), so the device sends the message again.</summary>
    static void NotAcknowledged(InterceptingPublishEventArgs args)
    {
        args.CloseConnection = true;
        args.Response.ReasonCode = MqttPubAckReasonCode.UnspecifiedError;
        args.Response.ReasonString = "not stored; send again";
    }

    /// <summary>
    /// A device's status message, usually its Last Will sent by the broker when the connection broke: <c>offline</c>
    /// starts the sensor's disconnect grace like a disconnect does; <c>online</c> is taken and needs nothing (the next
    /// reading shows it). Anything else is refused.
    /// </summary>
    void Status(InterceptingPublishEventArgs args, SensorAddress address, long receivedAtMs)
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

        // Queued, not awaited: the PUBACK must not wait on a grain that may live on another node.
        signals.Post([address.Sensor], SensorConnectionSignals.Kind.Disconnected, receivedAtMs, args.ClientId);
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

        return IsAtRegisteredLocation(address, sensor, out refusal);
    }

    /// <summary>
    /// A registered sensor publishes only under the building and room the registry gives it: its roll-ups use the
    /// registry's location anyway, and a topic with invented levels would only create a new raw series per message.
    /// Refusing (rather than silently re-tagging) tells a mis-configured device (docs/contract.md).
    /// </summary>
    static bool IsAtRegisteredLocation(SensorAddress address, RegisteredSensor? sensor, out Refusal refusal)
    {
        refusal = default;
        if (sensor is null
            || (string.Equals(sensor.Building.Id, address.Building, StringComparison.Ordinal)
                && string.Equals(sensor.Room.Id, address.Room, StringComparison.Ordinal)))
        {
            return true;
        }

        refusal = new Refusal(RefusalReason.WrongLocation,
            $"sensor '{address.Sensor}' is registered in {sensor.Building.Id}/{sensor.Room.Id}; publish on campus/{sensor.Building.Id}/{sensor.Room.Id}/{address.Sensor}/…");
        return false;
    }

    /// <summary>
    /// The session remembers the sensors whose messages it got accepted (only those: a connection cannot make another
    /// device's sensor look connected or disconnected by a refused message), so their grains hear when it goes away.
    /// </summary>
    static void PublishedOn(System.Collections.IDictionary sessionItems, string sensor)
    {
        if (sessionItems[SessionSensorsKey] is not HashSet<string> sensors)
        {
            sessionItems[SessionSensorsKey] = sensors = new HashSet<string>(StringComparer.Ordinal);
        }

        if (sensors.Count < MaxSensorsPerSession)
        {
            sensors.Add(sensor);
        }
    }

    /// <summary>
    /// A connection has closed: the sensors that published on it start their disconnect grace period (docs/alerts.md),
    /// and are remembered for the client id and identity so that the device's next connection ends it. A takeover is
    /// the same device connecting again, so it is not a disconnect. A connection that published nothing but took over
    /// its identity's sensors at connect counts for those.
    /// </summary>
    public Task OnDisconnectedAsync(ClientDisconnectedEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.SessionItems[SessionSensorsKey] is not HashSet<string> { Count: > 0 } sensors)
        {
            return Task.CompletedTask;
        }

        Remember(args.ClientId, ConnectionIdentity.Of(args.SessionItems), [.. sensors]);
        if (args.DisconnectType != MqttClientDisconnectType.Takeover)
        {
            signals.Post(sensors, SensorConnectionSignals.Kind.Disconnected, time.GetUtcNow().ToUnixTimeMilliseconds(), args.ClientId);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// A client connected: the sensors its identity published for on an earlier connection with this client id end
    /// their disconnect grace (a device whose 5G link dropped and came back is not offline because its next reading is
    /// not due yet). Another identity using the same client id tells them nothing.
    /// </summary>
    public Task OnConnectedAsync(ClientConnectedEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var identity = ConnectionIdentity.Of(args.SessionItems);
        if (!recentClients.TryGetValue(args.ClientId, out var known) || !known.Identity.SameAs(identity)
            || !recentClients.TryRemove(new KeyValuePair<string, RecentClient>(args.ClientId, known)))
        {
            return Task.CompletedTask;
        }

        var sensors = new HashSet<string>(known.Sensors, StringComparer.Ordinal);
        args.SessionItems[SessionSensorsKey] = sensors;
        signals.Post(sensors, SensorConnectionSignals.Kind.Connected, time.GetUtcNow().ToUnixTimeMilliseconds(), args.ClientId);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Keeps a closed connection's sensors for its next connection, in a map bounded by
    /// <see cref="MaxRecentClients"/> entries of at most <see cref="RecentClientRetention"/> age: when full, expired
    /// entries are swept, and if that frees nothing the entry is not kept (only the faster signal is lost for that
    /// device; offline detection by silence still applies). A live connection holds its sensors in its own session.
    /// </summary>
    void Remember(string clientId, ConnectionIdentity identity, string[] sensors)
    {
        var now = time.GetTimestamp();
        if (recentClients.Count >= MaxRecentClients && !recentClients.ContainsKey(clientId))
        {
            foreach (var entry in recentClients)
            {
                if (time.GetElapsedTime(entry.Value.At, now) >= RecentClientRetention)
                {
                    recentClients.TryRemove(entry);
                }
            }

            if (recentClients.Count >= MaxRecentClients)
            {
                return;
            }
        }

        recentClients[clientId] = new RecentClient(identity, sensors, now);
    }

    /// <summary>The sensors and identity of recently closed connections by client id (see <see cref="Remember"/>).</summary>
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, RecentClient> recentClients = new(StringComparer.Ordinal);

    /// <summary>Closed connections remembered for their next connection; tests read it to see that the map stays bounded.</summary>
    public int RememberedClients => recentClients.Count;

    const int MaxRecentClients = 10_000;
    static readonly TimeSpan RecentClientRetention = TimeSpan.FromHours(1);

    sealed record RecentClient(ConnectionIdentity Identity, string[] Sensors, long At);

    /// <summary>A gateway may publish for many sensors; beyond this many, only silence reveals that they are offline.</summary>
    const int MaxSensorsPerSession = 10_000;

    static readonly object SessionSensorsKey = new();

    void Refuse(InterceptingPublishEventArgs args, Refusal refusal)
    {
        refusals.Record(args.ClientId, args.ApplicationMessage.Topic, refusal);
        args.Response.ReasonCode = refusal.Reason switch
        {
            RefusalReason.TopicNotAllowed or RefusalReason.InvalidTopicSegment or RefusalReason.InvalidTopicName
                or RefusalReason.WrongLocation => MqttPubAckReasonCode.TopicNameInvalid,
            RefusalReason.InvalidQos => MqttPubAckReasonCode.UnspecifiedError,
            RefusalReason.SensorNotRegistered or RefusalReason.SensorNotAllowed or RefusalReason.ForgedAlert => MqttPubAckReasonCode.NotAuthorized,
            RefusalReason.SensorMetricLimit or RefusalReason.KindMetricLimit
                or RefusalReason.TooManyNewSensors or RefusalReason.UnregisteredSensorLimit
                or RefusalReason.SensorLocationLimit => MqttPubAckReasonCode.QuotaExceeded,
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
