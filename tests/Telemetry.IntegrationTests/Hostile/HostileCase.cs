using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>What the service must do with a hostile input.</summary>
public enum Outcome
{
    /// <summary>
    /// The message is refused with <see cref="Expectation.Reason"/> (MQTT 5: PUBACK reason code <see cref="Expectation.Code"/>
    /// and a reason string starting with the reason; MQTT 3.1.1: a plain PUBACK) and the connection stays usable.
    /// </summary>
    Refused,

    /// <summary>
    /// The connection is closed (a protocol error or malformed packet); counted under <see cref="Expectation.Reason"/>
    /// when one is given (e.g. <c>invalid_qos</c>, <c>packet_too_large</c>; on the connection-refused metric for
    /// <see cref="Expectation.ConnectionReasons"/>), otherwise only MQTTnet's own log line.
    /// </summary>
    Closed,

    /// <summary>The CONNECT is answered with CONNACK reason <see cref="Expectation.Code"/>, counted under the connection-refused metric.</summary>
    ConnectRefused,

    /// <summary>
    /// Nothing happens: nothing stored, the connection stays usable (e.g. a stray PUBACK); counted only as the case's
    /// <see cref="HostileCase.AlsoCounted"/> says (a stray PUBREL: <c>packet_id_not_found</c>).
    /// </summary>
    Ignored,

    /// <summary>
    /// A SUBSCRIBE is answered with SUBACK reason <see cref="Expectation.Code"/> (MQTT 5 0x87 not authorized, MQTT 3.1.1
    /// 0x80 failure), counted under the subscription-refused metric, and the connection stays usable.
    /// </summary>
    SubscribeRefused,

    /// <summary>
    /// A scripted attack (<see cref="ScriptAction"/>) whose script checks the outcome itself and reports what it saw and
    /// what it caused to be counted and stored.
    /// </summary>
    Scripted,

    /// <summary>
    /// Hostile-looking but within the contract (a topic level <c>..</c>, a look-alike of a registered sensor id, a metric
    /// name full of line-protocol syntax): accepted and stored exactly as sent — never as something else.
    /// </summary>
    Accepted,
}

/// <summary>The outcome a case expects; <paramref name="Reason"/> is the refusal reason counted, <paramref name="Code"/> an MQTT 5 reason code.</summary>
public sealed record Expectation(Outcome Outcome, string? Reason = null, byte? Code = null)
{
    public const byte TopicNameInvalid = (byte)MqttPubAckReasonCode.TopicNameInvalid;
    public const byte PayloadFormatInvalid = (byte)MqttPubAckReasonCode.PayloadFormatInvalid;

    /// <summary>
    /// Reasons a connection is closed for that are counted on the connection-refused metric
    /// (<c>telemetry_mqtt_connections_refused_total</c>), not on the refused-message one.
    /// </summary>
    public static readonly IReadOnlySet<string> ConnectionReasons = new HashSet<string>(StringComparer.Ordinal)
    {
        "packet_before_connect", "malformed_connect", "connect_timeout", "malformed_packet", "protocol_error",
    };

    public static Expectation Refused(string reason, byte? code) => new(Outcome.Refused, reason, code);

    /// <summary>A payload refusal: MQTT 5 reason code 0x99.</summary>
    public static Expectation Payload(string reason) => new(Outcome.Refused, reason, PayloadFormatInvalid);

    /// <summary>A topic refusal: MQTT 5 reason code 0x90.</summary>
    public static Expectation Topic(string reason) => new(Outcome.Refused, reason, TopicNameInvalid);

    public static Expectation Closed(string? countedAs = null) => new(Outcome.Closed, countedAs);

    public static Expectation ConnectRefused(string reason, MqttConnectReasonCode code) => new(Outcome.ConnectRefused, reason, (byte)code);

    public static readonly Expectation Ignored = new(Outcome.Ignored);

    public static Expectation SubscribeRefused(string reason, byte code = 0x87) => new(Outcome.SubscribeRefused, reason, code);

    /// <summary>A scripted case: <paramref name="what"/> says what the script expects (shown in the report).</summary>
    public static Expectation Scripted(string what) => new(Outcome.Scripted, null) { Description = what };

    /// <summary>For <see cref="Outcome.Scripted"/>: the expected outcome in words.</summary>
    public string? Description { get; init; }

    public static readonly Expectation Accepted = new(Outcome.Accepted);

    public override string ToString() => Outcome switch
    {
        Outcome.Refused => $"refused {Reason}" + (Code is { } c ? $" (0x{c:X2})" : " (plain PUBACK)"),
        Outcome.Closed => Reason is null ? "connection closed" : $"connection closed, counted {Reason}",
        Outcome.ConnectRefused => $"CONNACK 0x{Code:X2}, counted {Reason}",
        Outcome.SubscribeRefused => $"SUBACK 0x{Code:X2}, " + (Reason is null ? "not counted" : $"counted {Reason}"),
        Outcome.Scripted => Description ?? "scripted",
        _ => Outcome.ToString().ToLowerInvariant(),
    };
}

/// <summary>How a case reaches the service.</summary>
public abstract record HostileAction;

/// <summary>How a raw connection starts before the case's bytes.</summary>
public enum RawStart
{
    /// <summary>The case's bytes are the first on the socket (packets before CONNECT, malformed CONNECTs).</summary>
    Nothing,

    /// <summary>A valid MQTT 5.0 CONNECT (client id = the case's marker), CONNACK read, then the case's bytes.</summary>
    Mqtt5,

    /// <summary>The same with MQTT 3.1.1.</summary>
    Mqtt311,
}

/// <summary>
/// Bytes on a raw TCP socket. Afterwards the runner sends a PINGREQ as a probe (unless <paramref name="ThenEof"/>: then it
/// shuts its sending side down, as a client that sent half a packet and went away) and reads until the server closes the
/// connection or answers the probe: a closed connection and a live one are told apart without waiting for a timeout.
/// </summary>
/// <param name="Packets">The bytes, from the case's marker (which the bytes use as sensor id or client id).</param>
/// <param name="Start">What precedes them.</param>
/// <param name="ThenEof">Half-close after the bytes instead of probing.</param>
/// <param name="ThenSilence">Neither probe nor close after the bytes: wait for the server to give the connection up.</param>
/// <param name="KeepAlive">The keep-alive (seconds) of the CONNECT that <paramref name="Start"/> sends.</param>
public sealed record RawAction(Func<string, byte[]> Packets, RawStart Start, bool ThenEof = false, bool ThenSilence = false, ushort KeepAlive = 60) : HostileAction;

/// <summary>
/// A PUBLISH through MQTTnet (a real client, on one of a few shared connections of <paramref name="Version"/>): for what
/// is valid MQTT but hostile to the service (payload bombs, topic tricks). <paramref name="Topic"/> holds <c>{m}</c> where the
/// case's marker goes.
/// </summary>
public sealed record PublishAction(string Topic, byte[] Payload, MqttProtocolVersion Version = MqttProtocolVersion.V500,
    MqttQualityOfServiceLevel Qos = MqttQualityOfServiceLevel.AtLeastOnce) : HostileAction;

/// <summary>Which refusal counter a count goes to.</summary>
public enum Counter
{
    /// <summary><c>telemetry_mqtt_messages_refused_total{reason}</c> (also closed connections counted by reason).</summary>
    Messages,

    /// <summary><c>telemetry_mqtt_connections_refused_total{reason}</c>.</summary>
    Connections,

    /// <summary><c>telemetry_mqtt_subscriptions_refused_total{reason}</c>.</summary>
    Subscriptions,
}

/// <summary>What a scripted case is given: the broker's port, the case, the loopback source address to connect from.</summary>
public sealed record ScriptContext(int Port, HostileCase Case, System.Net.IPAddress Source, Func<bool> GoodDeviceConnected, CancellationToken Ct);

/// <summary>
/// What a script saw: whether the case had its expected outcome, what was seen, each refusal it caused (by counter and
/// reason — the counters must show exactly these), the sensor ids and metric names that must be stored and those that
/// must not be.
/// </summary>
public sealed record ScriptResult(bool Met, string Observed)
{
    public IReadOnlyList<(Counter Counter, string Reason, int Count)> Counted { get; init; } = [];

    /// <summary>Sensor ids (<c>sensor=…</c>) or metric names (<c>field …</c>) that must be in InfluxDB afterwards.</summary>
    public IReadOnlyList<string> MustBeStored { get; init; } = [];

    /// <summary>Sensor ids or metric names that must not be in InfluxDB.</summary>
    public IReadOnlyList<string> MustNotBeStored { get; init; } = [];
}

/// <summary>
/// An attack that needs more than one packet exchange or its own timing (a flood, a login burst, a slow-loris socket, a
/// subscription by an authenticated identity). The script connects from <see cref="ScriptContext.Source"/> (a loopback
/// address of its own, so per-address limits it triggers touch no other case) and judges the outcome itself.
/// </summary>
public sealed record ScriptAction(Func<ScriptContext, Task<ScriptResult>> Run, System.Net.IPAddress? Source = null) : HostileAction;

/// <summary>
/// One hostile input. <paramref name="Marker"/> is unique in the corpus (<c>hx0001</c>, …) and appears in whatever the input
/// would store (the sensor id, else a metric name), so InfluxDB can be searched for it afterwards.
/// </summary>
public sealed record HostileCase(string Category, string Name, string Marker, HostileAction Action, Expectation Expected)
{
    /// <summary>Refusals the case causes besides its expected one (a sequence of several messages), by reason.</summary>
    public IReadOnlyDictionary<string, int> AlsoCounted { get; init; } = new Dictionary<string, int>();

    /// <summary>Every refusal the case must add to the counters, by reason.</summary>
    public IEnumerable<KeyValuePair<string, int>> Counted =>
        Expected.Reason is { } reason ? AlsoCounted.Append(new(reason, 1)) : AlsoCounted;

    /// <summary>
    /// The counter a reason of <see cref="Counted"/> goes to, unless set here: connections for
    /// <see cref="Outcome.ConnectRefused"/> and for the <see cref="Expectation.ConnectionReasons"/>, subscriptions for
    /// <see cref="Outcome.SubscribeRefused"/>, messages otherwise. Scripted cases report their counts in
    /// <see cref="ScriptResult.Counted"/>.
    /// </summary>
    public Counter? CountedIn { get; init; }

    public Counter CounterOf(string reason) => CountedIn ?? Expected.Outcome switch
    {
        Outcome.ConnectRefused => Counter.Connections,
        Outcome.SubscribeRefused => Counter.Subscriptions,
        _ when Expectation.ConnectionReasons.Contains(reason) => Counter.Connections,
        _ => Counter.Messages,
    };

    /// <summary>
    /// Null: the case runs in every round. Otherwise only in this round (0 the first): for attacks whose effect lasts
    /// (a login lockout, a cardinality budget) or that take seconds (floods, slow-loris sockets).
    /// </summary>
    public int? OnlyInRound { get; init; }

    public override string ToString() => $"{Marker} {Category}: {Name}";
}

/// <summary>
/// A source of hostile cases of one category. New categories (identity spoofing, subscription sniffing, floods,
/// slow-loris, cardinality attacks, credential stuffing) are new sources added to <see cref="HostileCorpus.Sources"/>.
/// </summary>
public interface IHostileCaseSource
{
    string Category { get; }

    /// <summary>The cases; <paramref name="markers"/> hands out a fresh unique marker per case.</summary>
    IEnumerable<HostileCase> Cases(Markers markers);
}

/// <summary>Unique, fixed-width markers (<c>hx0001</c>, <c>hx0002</c>, …): none is a prefix or part of another.</summary>
public sealed class Markers
{
    int next;

    public string Next() => $"hx{Interlocked.Increment(ref next):D4}";
}
