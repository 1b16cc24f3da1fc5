using System.Net;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Telemetry.DeviceSim.Load;

/// <summary>What load to generate and against which broker. Defaults match <c>device-sim load</c>.</summary>
public sealed class LoadOptions
{
    /// <summary>Longest run id: the sensor id <c>{RunId}-c{i}</c> must stay within the service's 64 characters a topic segment.</summary>
    public const int MaxRunIdLength = 40;

    /// <summary>Most metrics the payload writer puts into one reading (the service accepts 100).</summary>
    internal const int MaxMetricsPerReading = 50;

    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 1883;

    /// <summary>MQTT connections, each its own client and sensor (<c>{RunId}-c{i}</c>).</summary>
    public int Connections { get; init; } = 100;

    /// <summary>
    /// Sensors each connection publishes for, round robin, message by message: <c>{RunId}-c{i}</c> and then
    /// <c>{RunId}-c{i}-s{k}</c> for k = 1…n−1 (a gateway's devices), so that a run can keep many sensors active with
    /// few connections. Their timestamps stay unique and increasing per sensor (the connection's reading counter).
    /// </summary>
    public int SensorsPerConnection { get; init; } = 1;

    /// <summary>The measured window (after <see cref="Warmup"/>); in <see cref="Idle"/> mode how long to hold the connections.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Publishing before the measured window; its messages count in the totals but not in rates and latencies.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Publishes awaiting their PUBACK at once, per connection (concurrent publish loops per connection).</summary>
    public int Inflight { get; init; } = 8;

    public MqttQualityOfServiceLevel Qos { get; init; } = MqttQualityOfServiceLevel.AtLeastOnce;

    /// <summary>Target size of one reading's JSON object in bytes; padding metrics fill it up.</summary>
    public int PayloadBytes { get; init; } = 100;

    /// <summary>Readings per message; above 1 the payload is a JSON array, every reading with its own <c>ts</c>.</summary>
    public int ReadingsPerMessage { get; init; } = 1;

    /// <summary>Topics are <c>{TopicPrefix}/{sensorId}/telemetry</c>.</summary>
    public string TopicPrefix { get; init; } = "campus/bench/r1";

    /// <summary>Names this run's sensors (<c>{RunId}-c{i}</c>); <c>null</c> picks 8 random hex digits.</summary>
    public string? RunId { get; init; }

    /// <summary>
    /// Local addresses the client sockets bind to, round robin by connection (e.g. 127.0.0.2, 127.0.0.3), to open
    /// more connections to one broker port than one source address has ephemeral ports. Empty: the OS picks.
    /// </summary>
    public IReadOnlyList<IPAddress> SourceAddresses { get; init; } = [];

    /// <summary>New connections started per second at most.</summary>
    public double ConnectRate { get; init; } = 2000;

    /// <summary>Connection attempts in flight at once.</summary>
    public int MaxConcurrentConnects { get; init; } = 200;

    /// <summary>Attempts per connection before it counts as failed (each failed attempt is a connect failure).</summary>
    public int ConnectAttempts { get; init; } = 3;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Connect every client, publish nothing and hold the connections for <see cref="Duration"/>.</summary>
    public bool Idle { get; init; }

    public MqttProtocolVersion ProtocolVersion { get; init; } = MqttProtocolVersion.V311;

    /// <summary>MQTT keep-alive: the client pings the broker when it has sent nothing for this long.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>After publishing stops, how long to wait for outstanding PUBACKs.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public string? Username { get; init; }
    public string? Password { get; init; }

    /// <summary>
    /// The first reading of every connection is stamped this long before the run started; each further reading is
    /// 1 ms later. A connection publishing more than 1000 readings a second runs ahead of the clock by the excess.
    /// </summary>
    public TimeSpan TimestampBackdate { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How often progress is reported (and the timeline sampled).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Latency samples of the measured window kept for exact percentiles; beyond, percentiles come from a histogram (±0.4 %).</summary>
    public int MaxExactLatencySamples { get; init; } = 10_000_000;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        Require(!string.IsNullOrWhiteSpace(Host), nameof(Host), "must not be empty");
        Require(Port is > 0 and <= 65535, nameof(Port), "must be 1..65535");
        Require(Connections is > 0 and <= 1_000_000, nameof(Connections), "must be 1..1000000");
        Require(Duration > TimeSpan.Zero, nameof(Duration), "must be positive");
        Require(Warmup >= TimeSpan.Zero, nameof(Warmup), "must not be negative");
        Require(Inflight is > 0 and <= 10_000, nameof(Inflight), "must be 1..10000");
        Require(SensorsPerConnection is > 0 and <= 1_000_000, nameof(SensorsPerConnection), "must be 1..1000000");
        Require((long)Connections * SensorsPerConnection <= 10_000_000, nameof(SensorsPerConnection), "times Connections must not exceed 10000000");
        Require(Qos is MqttQualityOfServiceLevel.AtMostOnce or MqttQualityOfServiceLevel.AtLeastOnce, nameof(Qos), "must be 0 or 1");
        Require(PayloadBytes is > 0 and <= 65536, nameof(PayloadBytes), "must be 1..65536");
        Require(ReadingsPerMessage is > 0 and <= 1000, nameof(ReadingsPerMessage), "must be 1..1000");
        Require((long)PayloadBytes * ReadingsPerMessage <= 1 << 20, nameof(PayloadBytes), "times ReadingsPerMessage must not exceed 1 MiB");
        Require(ValidTopicPrefix(TopicPrefix), nameof(TopicPrefix), "must be a topic without wildcards and without a leading or trailing '/'");
        Require(RunId is null || ValidRunId(RunId), nameof(RunId), $"must be 1..{MaxRunIdLength} letters, digits, '-' or '_'");
        Require(SourceAddresses is not null, nameof(SourceAddresses), "must not be null");
        Require(double.IsFinite(ConnectRate) && ConnectRate > 0, nameof(ConnectRate), "must be positive");
        Require(MaxConcurrentConnects > 0, nameof(MaxConcurrentConnects), "must be at least 1");
        Require(ConnectAttempts > 0, nameof(ConnectAttempts), "must be at least 1");
        Require(ConnectTimeout > TimeSpan.Zero, nameof(ConnectTimeout), "must be positive");
        Require(ProtocolVersion is MqttProtocolVersion.V311 or MqttProtocolVersion.V500, nameof(ProtocolVersion), "must be 3.1.1 or 5");
        Require(KeepAlive >= TimeSpan.FromSeconds(1) && KeepAlive <= TimeSpan.FromSeconds(ushort.MaxValue), nameof(KeepAlive), "must be 1s..65535s");
        Require(DrainTimeout >= TimeSpan.Zero, nameof(DrainTimeout), "must not be negative");
        Require(Password is null || Username is not null, nameof(Password), "needs a username");
        Require(TimestampBackdate >= TimeSpan.Zero, nameof(TimestampBackdate), "must not be negative");
        Require(ProgressInterval > TimeSpan.Zero, nameof(ProgressInterval), "must be positive");
        Require(MaxExactLatencySamples >= 0, nameof(MaxExactLatencySamples), "must not be negative");
    }

    internal static bool ValidRunId(string runId)
    {
        if (runId.Length is 0 or > MaxRunIdLength)
        {
            return false;
        }

        foreach (var c in runId)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    static bool ValidTopicPrefix(string? prefix) =>
        !string.IsNullOrEmpty(prefix) && prefix.IndexOfAny(['+', '#', '\0']) < 0 && prefix[0] != '/' && prefix[^1] != '/';

    static void Require(bool valid, string option, string rule)
    {
        if (!valid)
        {
            throw new ArgumentException($"{option} {rule}.", option);
        }
    }
}
