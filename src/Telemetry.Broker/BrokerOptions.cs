using System.ComponentModel.DataAnnotations;
using System.Net;

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
///   "TopicAliasMaximum": 10         // MQTT 5 topic aliases a client may use per connection (0: none)
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

    /// <summary>Pending TCP connections the listener queues (capped by the kernel's net.core.somaxconn).</summary>
    [Range(1, 65535)]
    public int ConnectionBacklog { get; set; } = 4096;

    public IPAddress ListenAddress() => Host switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "0.0.0.0" => IPAddress.Any,
        _ => IPAddress.Parse(Host),
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

    /// <summary>Anonymous devices are let in when explicitly allowed, or by default only on loopback without a credential store.</summary>
    public bool AnonymousAllowed() => AllowAnonymous ?? (string.IsNullOrWhiteSpace(CredentialsFile) && IPAddress.IsLoopback(ListenAddress()));

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
