using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Telemetry.Broker.Identity;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;

namespace Telemetry.Broker;

/// <summary>
/// Decides who may connect (the connection limit is applied earlier, at the TCP accept): the identity (<see cref="DeviceAuthenticator"/>: certificate,
/// credential store, or anonymous where allowed), stored in the session items for the publish and subscribe checks.
/// </summary>
public sealed class ConnectionValidator(
    DeviceAuthenticator authenticator,
    TelemetryMetrics metrics,
    ILogger<ConnectionValidator> logger)
{
    public async Task ValidateAsync(ValidatingConnectionEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);

        if (string.IsNullOrEmpty(args.ClientId) && args.ProtocolVersion == MqttProtocolVersion.V500)
        {
            // MQTT 5: the server assigns an id and returns it in CONNACK. (3.1.1 is handled by ClientIdAssigningServerAdapter.)
            args.AssignedClientIdentifier = ClientIds.NewAssigned();
        }

        if (!IsClientIdValid(args.ClientId, out var invalid))
        {
            Refuse(args, invalid);
            return;
        }

        var (identity, refusal) = await authenticator.AuthenticateAsync(args);
        if (identity is null)
        {
            Refuse(args, refusal);
            return;
        }

        identity.StoreIn(args.SessionItems);
        var held = HeldAcknowledgements.Of(args.ChannelAdapter);
        HeldAcknowledgements.StoreIn(args.SessionItems, held);
        if (ClientIdOwners.ClaimIn(args.SessionItems) is { } claim)
        {
            claim.Acknowledgements = held;
        }

        if (refusal.Reason == "client_id_reclaimed")
        {
            // The squatter's connection is pushed out by MQTTnet's takeover of the id; counted as its refusal.
            Count(refusal.Reason);
            if (logThrottle.ShouldLog(refusal.Reason, out var suppressed))
            {
                logger.LogWarning("MQTT client id {ClientId} reclaimed by identity {Identity} from a connection of another identity, which is disconnected; {Suppressed} more since the last line",
                    Text.ForLog(args.ClientId), Text.ForLog(identity.ToString()), suppressed);
            }
        }
    }

    /// <summary>Longest client id accepted, in UTF-8 bytes: ids are kept per connection and written to logs and metrics.</summary>
    public const int MaxClientIdBytes = 256;

    /// <summary>
    /// A client id longer than <see cref="MaxClientIdBytes"/> is refused at CONNECT (MQTT 5 CONNACK 0x85 client
    /// identifier not valid; 3.1.1: identifier rejected), as <c>client_id_invalid</c>.
    /// </summary>
    static bool IsClientIdValid(string? clientId, out ConnectRefusal refusal)
    {
        var bytes = string.IsNullOrEmpty(clientId) ? 0 : System.Text.Encoding.UTF8.GetByteCount(clientId);
        refusal = bytes <= MaxClientIdBytes ? default : new ConnectRefusal(MqttConnectReasonCode.ClientIdentifierNotValid, "client_id_invalid",
            $"the client id has {bytes} bytes; at most {MaxClientIdBytes} are accepted");
        return bytes <= MaxClientIdBytes;
    }

    /// <summary>Counts and logs a connection ended for a reason other than a CONNECT (a revoked credential).</summary>
    public void Count(string reason) => metrics.ConnectionsRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    void Refuse(ValidatingConnectionEventArgs args, ConnectRefusal refusal)
    {
        args.ReasonCode = refusal.Code;
        args.ReasonString = $"{refusal.Reason}: {refusal.Detail}";
        Count(refusal.Reason);

        // At most one line per reason every 10 s, with the count in between: a reconnect storm must not flood the log.
        if (logThrottle.ShouldLog(refusal.Reason, out var suppressed))
        {
            logger.LogWarning("Refused MQTT connection of client {ClientId} from {RemoteEndPoint}: {Reason} ({Detail}); {Suppressed} more refused for this reason since the last line",
                Text.ForLog(args.ClientId), args.RemoteEndPoint, refusal.Reason, refusal.Detail, suppressed);
        }
    }

    readonly LogThrottle logThrottle = new(TimeSpan.FromSeconds(10), TimeProvider.System);
}

/// <summary>
/// TCP connections open now (also exported as the metric), and the limit in force: one counter for both. A socket
/// counts from its accept — before CONNECT, so that sockets that never send one cannot hold file descriptors beyond
/// the limit — until it is closed (see <see cref="Transport.ConnectionGate"/>).
/// </summary>
public sealed class OpenConnections
{
    int count;

    public OpenConnections(IOptions<BrokerOptions> options, TelemetryMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        Limit = options.Value.EffectiveMaxConnections();
        metrics.ObserveConnections(() => Count);
    }

    public int Limit { get; }

    public int Count => Volatile.Read(ref count);

    /// <summary>Takes a place under the limit; false (and nothing taken) when all are held.</summary>
    public bool TryOpen()
    {
        while (true)
        {
            var current = Volatile.Read(ref count);
            if (current >= Limit)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref count, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Closed() => Interlocked.Decrement(ref count);
}

public static class ClientIds
{
    /// <summary>An id for a client that connected with an empty one.</summary>
    public static string NewAssigned() => $"auto-{Guid.NewGuid():N}";
}
