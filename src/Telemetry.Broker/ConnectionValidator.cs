using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;

namespace Telemetry.Broker;

/// <summary>Decides who may connect: credentials when users are configured, anonymous only where allowed.</summary>
public sealed class ConnectionValidator(IOptions<BrokerOptions> options, TelemetryMetrics metrics, ILogger<ConnectionValidator> logger)
{
    public Task ValidateAsync(ValidatingConnectionEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var broker = options.Value;

        if (string.IsNullOrEmpty(args.ClientId) && args.ProtocolVersion == MqttProtocolVersion.V500)
        {
            // MQTT 5: the server assigns an id and returns it in CONNACK. (3.1.1 is handled by ClientIdAssigningServerAdapter.)
            args.AssignedClientIdentifier = ClientIds.NewAssigned();
        }

        if (broker.Users.Count > 0 && !string.IsNullOrEmpty(args.UserName))
        {
            if (!broker.Users.TryGetValue(args.UserName, out var expected) || !FixedTimeEquals(expected, args.Password ?? ""))
            {
                Refuse(args, MqttConnectReasonCode.BadUserNameOrPassword, "bad_credentials",
                    $"wrong username or password for user '{Text.ForLog(args.UserName)}'");
            }

            return Task.CompletedTask;
        }

        if (!broker.AnonymousAllowed())
        {
            Refuse(args, MqttConnectReasonCode.NotAuthorized, "anonymous_not_allowed",
                "this broker requires a username and password");
        }

        return Task.CompletedTask;
    }

    void Refuse(ValidatingConnectionEventArgs args, MqttConnectReasonCode code, string reason, string detail)
    {
        args.ReasonCode = code;
        args.ReasonString = detail;
        metrics.ConnectionsRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));

        // At most one line per reason every 10 s, with the count in between: a reconnect storm must not flood the log.
        if (logThrottle.ShouldLog(reason, out var suppressed))
        {
            logger.LogWarning("Refused MQTT connection of client {ClientId} from {RemoteEndPoint}: {Reason} ({Detail}); {Suppressed} more refused for this reason since the last line",
                Text.ForLog(args.ClientId), args.RemoteEndPoint, reason, detail, suppressed);
        }
    }

    readonly LogThrottle logThrottle = new(TimeSpan.FromSeconds(10), TimeProvider.System);

    static bool FixedTimeEquals(string expected, string actual) =>
        CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(expected)),
            SHA256.HashData(Encoding.UTF8.GetBytes(actual)));
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
