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
///   "AllowAnonymous": null,       // null: anonymous only while listening on loopback without a credential store
///   "CredentialsFile": null,      // the device credential store (telemetry-admin writes it); docs/security.md
///   "SensorAcl": "Open",          // for anonymous connections: Open any sensor; OwnSensor only the sensor whose id is
///                                 // its client id. Authenticated identities always follow the credential store.
///   "LoginThrottle": { … },       // failed logins per address and username: LoginThrottleOptions
///   "MaxPendingMessagesPerClient": 1000,
///   "ConnectionBacklog": 4096,      // reconnect storms: pending TCP connections queued by the listener
///   "MaxConnections": null,         // default: the open-file limit less 1,000
///   "MaxPacketBytes": 4194304,      // larger packets close the connection before they are read
///   "TopicAliasMaximum": 10,        // MQTT 5 topic aliases a client may use per connection (0: none)
///   "MaxTopicLength": 1024,         // UTF-8 bytes of a PUBLISH topic; longer closes the connection
///   "ReceiveMaximum": 100,          // QoS 2 messages a connection may have awaiting PUBREL; more closes it
///   "Plain": { "Enabled": true },   // the unencrypted listener on Host:Port; false: TLS only
///   "Tls": { "Enabled": false, … }  // MQTT over TLS (8883) and device certificates: see BrokerTlsOptions
///   "ConnectTimeout": "00:00:10",   // a socket without a complete CONNECT by then is closed
///   "MaxNewConnectionsPerSecondPerAddress": 50, "NewConnectionBurstPerAddress": 200,
///   "MaxKeepAlive": 300,            // seconds; keep-alive 0 or above it is enforced as this
///   "MaxMessagesPerSecondPerConnection": 2000, "MessageBurstPerConnection": 10000,
///   "MaxBytesPerSecondPerConnection": 4194304, "ByteBurstPerConnection": 16777216,
///   "RateLimitDisconnectAfter": "00:00:30"
/// }
/// </code>
/// </summary>
public sealed class BrokerOptions : IValidatableObject
{
    public const string SectionName = "Broker";

    [Required]
    public string Host { get; set; } = "127.0.0.1";

    [Range(1, 65535)]
    public int Port { get; set; } = 1883;

    public bool? AllowAnonymous { get; set; }

    /// <summary>
    /// The device credential store (<see cref="Identity.CredentialStore"/>): one identity a line with a salted PBKDF2 hash,
    /// the sensors it may publish for and its roles; reloaded while running. Unset: no password logins.
    /// </summary>
    public string? CredentialsFile { get; set; }

    /// <summary>What an anonymous connection may publish for; authenticated identities follow the credential store.</summary>
    public SensorAcl SensorAcl { get; set; } = SensorAcl.Open;

    /// <summary>Failed-login throttle per source address and per username.</summary>
    public Identity.LoginThrottleOptions LoginThrottle { get; set; } = new();

    /// <summary>
    /// Gone: clear-text passwords in configuration (<c>Broker:Users</c>) and the gateway list (<c>Broker:Gateways</c>).
    /// Still bound only so that a configuration that sets them is refused at start with directions, instead of being
    /// silently ignored.
    /// </summary>
    public Dictionary<string, string> Users { get; set; } = new(StringComparer.Ordinal);

    /// <inheritdoc cref="Users"/>
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

    /// <summary>
    /// Longest PUBLISH topic accepted, in UTF-8 bytes. A longer one closes the connection (<c>topic_too_long</c>; MQTT 5
    /// DISCONNECT 0x90) before MQTTnet keeps it for a topic alias, so aliases pin at most
    /// <see cref="TopicAliasMaximum"/> × this many bytes per connection. The longest valid device topic
    /// (<c>campus/{b}/{r}/{s}/telemetry</c> with three 64-character levels, up to 3 bytes a character) is under 600
    /// bytes, so the default 1024 refuses none.
    /// </summary>
    [Range(64, 65535)]
    public int MaxTopicLength { get; set; } = 1024;

    /// <summary>
    /// The MQTT 5 Receive Maximum the broker advertises in CONNACK: how many QoS 2 messages one connection may have
    /// received and not yet released (PUBREL), each remembered for exactly-once delivery. One more closes the
    /// connection (<c>receive_maximum_exceeded</c>; MQTT 5 DISCONNECT 0x93); MQTT 3.1.1 connections get the same bound.
    /// (QoS 1 messages are acknowledged one after another, so they never pile up.)
    /// </summary>
    [Range(1, 65535)]
    public int ReceiveMaximum { get; set; } = 100;

    /// <summary>
    /// How long a TCP connection may take from its accept to a complete CONNECT packet; then it is closed
    /// (<c>connect_timeout</c>). MQTTnet's own wait is 100 s, long enough for idle sockets to exhaust descriptors.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// New TCP connections per second one source address (IPv6: one /64) may open; beyond it and
    /// <see cref="NewConnectionBurstPerAddress"/> a socket is closed at accept (<c>connection_rate</c>).
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxNewConnectionsPerSecondPerAddress { get; set; } = 50;

    /// <summary>New connections one source address may open at once before <see cref="MaxNewConnectionsPerSecondPerAddress"/> applies.</summary>
    [Range(1, 1_000_000)]
    public int NewConnectionBurstPerAddress { get; set; } = 200;

    /// <summary>
    /// Longest MQTT keep-alive (seconds) the broker enforces: a client asking for 0 (none) or more gets this one
    /// (MQTT 5: as Server Keep Alive in CONNACK), and a connection silent for 1.5 × its keep-alive is closed.
    /// </summary>
    [Range(1, 65535)]
    public int MaxKeepAlive { get; set; } = 300;

    /// <summary>
    /// PUBLISH packets per second one connection may send; beyond it and <see cref="MessageBurstPerConnection"/> the
    /// broker reads its next packet only when the rate allows (its PUBACKs wait).
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxMessagesPerSecondPerConnection { get; set; } = 2000;

    /// <summary>PUBLISH packets one connection may send at once before <see cref="MaxMessagesPerSecondPerConnection"/> applies.</summary>
    [Range(2, 10_000_000)]
    public int MessageBurstPerConnection { get; set; } = 10_000;

    /// <summary>PUBLISH bytes (topic and payload) per second one connection may send; beyond it and the burst, as above.</summary>
    [Range(1, int.MaxValue)]
    public int MaxBytesPerSecondPerConnection { get; set; } = 4 << 20;

    /// <summary>PUBLISH bytes one connection may send at once before <see cref="MaxBytesPerSecondPerConnection"/> applies.</summary>
    [Range(2, int.MaxValue)]
    public int ByteBurstPerConnection { get; set; } = 16 << 20;

    /// <summary>
    /// A connection kept above its message or byte rate this long, without its allowance recovering (its bucket
    /// back to half full), is closed (<c>rate_limited</c>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RateLimitDisconnectAfter { get; set; } = TimeSpan.FromSeconds(30);

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

    /// <summary>Anonymous devices are let in when explicitly allowed, or by default only when every listener is on loopback and no credential store is set.</summary>
    public bool AnonymousAllowed() => AllowAnonymous ?? (string.IsNullOrWhiteSpace(CredentialsFile) && LoopbackOnly());

    /// <summary>True when every enabled listener (plain and TLS) is bound to a loopback address.</summary>
    public bool LoopbackOnly() =>
        (!Plain.Enabled || IPAddress.IsLoopback(ListenAddress())) && (!Tls.Enabled || IPAddress.IsLoopback(TlsListenAddress()));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Users.Count > 0)
        {
            yield return new ValidationResult(
                "Broker:Users is no longer read: clear-text passwords do not belong in configuration. Put each device in the " +
                "credential store (telemetry-admin devices add <id> --store FILE) and set Broker:CredentialsFile to that file; see docs/security.md",
                [nameof(Users)]);
        }

        if (Gateways.Count > 0)
        {
            yield return new ValidationResult(
                "Broker:Gateways is no longer read: list the sensors a gateway may publish for in the credential store " +
                "(telemetry-admin devices add <id> --sensors '*' or --sensors a,b); see docs/security.md",
                [nameof(Gateways)]);
        }

        var throttle = LoginThrottle;
        if (throttle.MaxFailures < 1 || throttle.Window <= TimeSpan.Zero || throttle.Lockout < TimeSpan.Zero
            || throttle.FirstDelay < TimeSpan.Zero || throttle.MaxDelay < throttle.FirstDelay || throttle.MaxTrackedKeys < 100)
        {
            yield return new ValidationResult(
                "Broker:LoginThrottle: MaxFailures at least 1, Window longer than zero, Lockout and FirstDelay not negative, " +
                "MaxDelay at least FirstDelay, MaxTrackedKeys at least 100",
                [nameof(LoginThrottle)]);
        }
    }
}

/// <summary>Which sensors a connection may publish for.</summary>
public enum SensorAcl
{
    /// <summary>Any sensor, for anonymous connections (the loopback demo).</summary>
    Open,
    /// <summary>
    /// Only the sensor whose id is the connection's MQTT client id (anonymous connections; authenticated identities
    /// always follow the credential store). Anything else is refused with <c>sensor_not_allowed</c>.
    /// </summary>
    OwnSensor,
}
