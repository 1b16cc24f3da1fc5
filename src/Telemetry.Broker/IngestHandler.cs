using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Telemetry.Contracts;
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
    IOptionsMonitor<IngestLimits> limits,
    RefusalLog refusals,
    TelemetryMetrics metrics,
    TimeProvider time,
    ILogger<IngestHandler> logger)
{
    public async Task InterceptAsync(InterceptingPublishEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        args.ProcessPublish = false;
        var message = args.ApplicationMessage;
        var receivedAtMs = time.GetUtcNow().ToUnixTimeMilliseconds();

        if (!TelemetryTopic.TryParse(message.Topic, out var address, out var refusal)
            || !PayloadParser.TryParse(message.Payload, receivedAtMs, limits.CurrentValue, out var readings, out refusal))
        {
            Refuse(args, refusal);
            return;
        }

        try
        {
            await SensorGrainOf(args, address.Sensor).Ingest(new TelemetryMessage(address, readings, receivedAtMs));
            metrics.MessagesAccepted.Add(1);
            metrics.ReadingsAccepted.Add(readings.Count);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var reason = ex switch
            {
                OperationCanceledException => "stopping",
                TimeoutException => "spool_full",
                IOException or UnauthorizedAccessException => "disk_error",
                _ => "grain_call_failed",
            };
            metrics.MessagesFailed.Add(1, new KeyValuePair<string, object?>("reason", reason));
            logger.LogWarning("Could not accept a message of {ClientId} for sensor {Sensor} ({Reason}); closing the connection without acknowledgement so the device sends it again: {Error}",
                args.ClientId, address.Sensor, reason, ex.Message);
            args.CloseConnection = true;
            args.Response.ReasonCode = MqttPubAckReasonCode.UnspecifiedError;
            args.Response.ReasonString = "not stored; send again";
        }
    }

    /// <summary>
    /// The grain reference of the connection's sensor, kept in the MQTT session: a device publishes for one sensor,
    /// so the reference (whose creation resolves the grain type every time) is made once per connection.
    /// </summary>
    ISensorGrain SensorGrainOf(InterceptingPublishEventArgs args, string sensor)
    {
        if (args.SessionItems[SessionGrainKey] is SessionGrain cached && cached.Sensor == sensor)
        {
            return cached.Grain;
        }

        var grain = grains.GetGrain<ISensorGrain>(sensor);
        args.SessionItems[SessionGrainKey] = new SessionGrain(sensor, grain);
        return grain;
    }

    static readonly object SessionGrainKey = new();

    sealed record SessionGrain(string Sensor, ISensorGrain Grain);

    void Refuse(InterceptingPublishEventArgs args, Refusal refusal)
    {
        refusals.Record(args.ClientId, args.ApplicationMessage.Topic, refusal);
        args.Response.ReasonCode = refusal.Reason is RefusalReason.TopicNotAllowed or RefusalReason.InvalidTopicSegment
            ? MqttPubAckReasonCode.TopicNameInvalid
            : MqttPubAckReasonCode.PayloadFormatInvalid;
        args.Response.ReasonString = refusal.ToString();
    }
}
