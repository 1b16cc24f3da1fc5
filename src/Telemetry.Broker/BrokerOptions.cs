using System.ComponentModel.DataAnnotations;
using System.Net;
using Telemetry.Broker.Transport;

namespace Telemetry.Broker;

/// <summary>
/// The embedded MQTT broker (configuration section <c>Broker</c>):
/// <code>
/// "Broker": {
///   "Host": "127.0.0.1",          // the address to listen on; loopback by default
///   "Port": 1883,
///   "AllowAnonymous": null,       // null: anonymous only while listening on loopback and no users are set
///   "Users": { "gateway-1": "…" } // username → password; set them through the environment (Broker__Users__gateway-1)
///   "SensorAcl": "Open",          // Open: any client may publish for any sensor; OwnSensor: only for the sensor whose
///                                 // id is its client id, except the users listed in Gateways
///   "Gateways": [ "gateway-1" ],  // users that may publish for any sensor under OwnSensor
///   "MaxPendingMessagesPerClient": 1000,
///   "ConnectionBacklog": 4096,      // reconnect storms: pending TCP connections queued by the listener
///   "MaxConnections": null,         // default: the open-file limit less 1,000
///   "MaxPacketBytes": 4194304,      // larger packets close the connection before they are read
///   "TopicAliasMaximum": 10,        // MQTT 5 topic aliases a client may use per connection (0: none)
///   "Plain": { "Enabled": true },   // the unencrypted listener on Host:Port; false: TLS only
///   "Tls": { "Enabled": false, … }  // MQTT over TLS (8883) and device certificates: see BrokerTlsOptions
/// }
/// </code>
/// </summary>
public sealed class BrokerOptions
{
    public const string SectionName = "Broker";

    [Required]
    public string Host { get; set; } = "127.0.0.1";

    [Range(1, 65535)]
    public int Port { get; set; } = 1883;

    public bool? AllowAnonymous { get; set; }

    public Dictionary<string, string> Users { get; set; } = new(StringComparer.Ordinal);

    public SensorAcl SensorAcl { get; set; } = SensorAcl.Open;

    public List<string> Gateways { get; set; } = [];

    [Range(1, 1_000_000)]
    public int MaxPendingMessagesPerClient { get; set; } = 1000;

    /// <summary>
    /// Most MQTT connections held at once; beyond it new ones are refused (server unavailable). Unset: the process's
    /// open-file limit less 1,000, so that a connection storm cannot exhaust file descriptors.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int? MaxConnections { get; set; }

    /// <summary>
    /// Largest MQTT packet (remaining length) read from a connection; a larger one closes the connection before any
    /// of it is buffered. Payloads above <c>Ingest:MaxPayloadBytes</c> but below this are refused with a reason instead.
    /// </summary>
    [Range(1024, 268_435_455)]
    public int MaxPacketBytes { get; set; } = 4 << 20;

    /// <summary>
    /// The MQTT 5 Topic Alias Maximum the broker advertises in CONNACK (MQTTnet's own is 65,535): how many topic
    /// aliases a client may set per connection, each holding a topic in memory for the connection's life. A PUBLISH
    /// with a higher alias closes the connection. 0 turns aliases off. Default 10, like mosquitto.
    /// </summary>
    [Range(0, 65535)]
    public int TopicAliasMaximum { get; set; } = 10;

    /// <summary>Pending TCP connections the listener queues (capped by the kernel's net.core.somaxconn).</summary>
    [Range(1, 65535)]
    public int ConnectionBacklog { get; set; } = 4096;

    /// <summary>The plain (unencrypted) listener on <see cref="Host"/>:<see cref="Port"/> (section <c>Broker:Plain</c>).</summary>
    public PlainListenerOptions Plain { get; set; } = new();

    /// <summary>The TLS listener and device certificates (section <c>Broker:Tls</c>), validated by <see cref="ListenerOptionsValidator"/>.</summary>
    public BrokerTlsOptions Tls { get; set; } = new();

    public IPAddress ListenAddress() => Address(Host);

    /// <summary>The TLS listener's address: <c>Broker:Tls:Host</c>, or <see cref="Host"/> when unset.</summary>
    public IPAddress TlsListenAddress() => Address(string.IsNullOrWhiteSpace(Tls.Host) ? Host : Tls.Host);

    static IPAddress Address(string host) => host switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "0.0.0.0" => IPAddress.Any,
        _ => IPAddress.Parse(host),
    };

    /// <summary>The connection limit in force: <see cref="MaxConnections"/>, or the open-file limit less 1,000.</summary>
    public int EffectiveMaxConnections()
    {
        if (MaxConnections is { } configured)
        {
            return configured;
        }

        // "Max open files            20000                20000                files" in /proc/self/limits (Linux).
        var line = File.Exists("/proc/self/limits")
            ? File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            : null;
        var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts is { Length: >= 4 } && long.TryParse(parts[3], out var soft)
            ? (int)Math.Clamp(soft - 1000, 100, int.MaxValue)
            : int.MaxValue;
    }

    /// <summary>Anonymous devices are let in when explicitly allowed, or by default only when all listeners are on loopback and no users are set.</summary>
    public bool AnonymousAllowed() => AllowAnonymous ?? (Users.Count == 0 && LoopbackOnly());

    /// <summary>True when every enabled listener (plain and TLS) is bound to a loopback address.</summary>
    public bool LoopbackOnly() =>
        (!Plain.Enabled || IPAddress.IsLoopback(ListenAddress())) && (!Tls.Enabled || IPAddress.IsLoopback(TlsListenAddress()));
}

/// <summary>Which sensors a connection may publish for.</summary>
public enum SensorAcl
{
    /// <summary>Any sensor (a trusted network, or authentication alone is enough).</summary>
    Open,
    /// <summary>
    /// Only the sensor whose id is the connection's MQTT client id; users listed in <c>Broker:Gateways</c> may publish
    /// for any sensor. Anything else is refused with <c>sensor_not_allowed</c>.
    /// </summary>
    OwnSensor,
}
