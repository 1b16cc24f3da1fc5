using System.Net;
using Microsoft.Extensions.Logging;
using Telemetry.Domain.Observability;

namespace Telemetry.Broker;

/// <summary>
/// Connections the broker closes before they become MQTT clients (at accept, or while waiting for a well-formed
/// CONNECT): counted on <c>telemetry.mqtt.connections.refused</c> by reason, and logged at most once per reason every
/// 10 s with the number held back in between — the reason is ours, never a string the peer chose, so an attacker
/// cannot flood the log by varying what it sends.
/// </summary>
public sealed class ConnectionRefusals(TelemetryMetrics metrics, ILogger<ConnectionRefusals> logger, TimeProvider time)
{
    /// <summary>Beyond <c>Broker:MaxConnections</c>, closed at accept.</summary>
    public const string TooManyConnections = "too_many_connections";

    /// <summary>Beyond <c>Broker:MaxNewConnectionsPerSecondPerAddress</c> (and its burst), closed at accept.</summary>
    public const string ConnectionRate = "connection_rate";

    /// <summary>No complete CONNECT within <c>Broker:ConnectTimeout</c> of the accept.</summary>
    public const string ConnectTimeout = "connect_timeout";

    /// <summary>A CONNECT whose flags break the specification (reserved bit, will QoS 3, …) or whose client id, will topic or user name is not UTF-8.</summary>
    public const string MalformedConnect = "malformed_connect";

    /// <summary>
    /// A malformed packet after CONNECT that MQTTnet would decode leniently: fixed-header flags other than the
    /// specification's, a SUBSCRIBE or UNSUBSCRIBE without filters, subscription options with QoS 3 or reserved bits.
    /// </summary>
    public const string MalformedPacket = "malformed_packet";

    /// <summary>A second CONNECT on a connection (MQTT-3.1.0-2).</summary>
    public const string ProtocolError = "protocol_error";

    /// <summary>The first packet on the connection was not CONNECT.</summary>
    public const string PacketBeforeConnect = "packet_before_connect";

    readonly LogThrottle throttle = new(TimeSpan.FromSeconds(10), time);
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> totals = new(StringComparer.Ordinal);

    /// <summary>Connections closed for <paramref name="reason"/> since start (the same events as the metric, for this service alone).</summary>
    public long Count(string reason) => totals.GetValueOrDefault(reason);

    public void Record(string reason, EndPoint? remote, string detail)
    {
        totals.AddOrUpdate(reason, 1, static (_, n) => n + 1);
        metrics.ConnectionsRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));
        if (throttle.ShouldLog(reason, out var suppressed))
        {
            logger.LogWarning("Closed the connection from {RemoteEndPoint}: {Reason} ({Detail}); {Suppressed} more closed for this reason since the last line",
                remote, reason, detail, suppressed);
        }
    }
}
