using System.CommandLine;
using System.Net;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.DeviceSim.Cli;
using Telemetry.Domain.Configuration;

namespace Telemetry.DeviceSim.Load;

/// <summary><c>device-sim load</c>: a load generator for benchmarks against any MQTT broker.</summary>
static class LoadCommand
{
    static readonly LoadOptions Defaults = new();

    static readonly Option<string> Host = new("--host") { Description = "Broker host name or address.", DefaultValueFactory = _ => Defaults.Host };
    static readonly Option<int> Port = new("--port") { Description = "Broker TCP port.", DefaultValueFactory = _ => Defaults.Port };
    static readonly Option<int> Connections = new("--connections") { Description = "MQTT connections; each is its own client and sensor {run-id}-c{i}.", DefaultValueFactory = _ => Defaults.Connections };
    static readonly Option<int> SensorsPerConnection = new("--sensors-per-connection") { Description = "Sensors each connection publishes for, in turn: {run-id}-c{i}, then {run-id}-c{i}-s{k} (a gateway's devices).", DefaultValueFactory = _ => Defaults.SensorsPerConnection };
    static readonly Option<TimeSpan?> Duration = DurationOption.Create("--duration", "Length of the measured window, after the warm-up (with --idle: how long to hold the connections). [default: 30s]");
    static readonly Option<TimeSpan?> Warmup = DurationOption.Create("--warmup", "Publishing before the measured window; counted in the totals, not in rates and latencies. [default: 3s]", allowZero: true);
    static readonly Option<int> Inflight = new("--inflight") { Description = "Publishes awaiting their PUBACK at once, per connection.", DefaultValueFactory = _ => Defaults.Inflight };
    static readonly Option<string> Qos = new Option<string>("--qos") { Description = "MQTT QoS: 0 (at most once) or 1 (acknowledged).", DefaultValueFactory = _ => "1" }.AcceptOnlyFromAmong("0", "1");
    static readonly Option<int> PayloadBytes = new("--payload-bytes") { Description = "Target size of one reading's JSON object; padding metrics fill it up.", DefaultValueFactory = _ => Defaults.PayloadBytes };
    static readonly Option<int> ReadingsPerMessage = new("--readings-per-message") { Description = "Readings per message; above 1 a JSON array, each reading with its own ts.", DefaultValueFactory = _ => Defaults.ReadingsPerMessage };
    static readonly Option<string> TopicPrefix = new("--topic-prefix") { Description = "Topics are {prefix}/{sensorId}/telemetry.", DefaultValueFactory = _ => Defaults.TopicPrefix };
    static readonly Option<string?> RunId = new("--run-id") { Description = "Names the sensors {run-id}-c{i}. [default: 8 random hex digits]" };
    static readonly Option<string?> SourceAddresses = new("--source-addresses") { Description = "Comma-separated local addresses to bind client sockets to, round robin (e.g. 127.0.0.2,127.0.0.3), for more connections than one address has ephemeral ports." };
    static readonly Option<double> ConnectRate = new("--connect-rate") { Description = "New connections per second at most.", DefaultValueFactory = _ => Defaults.ConnectRate };
    static readonly Option<int> MaxConnects = new("--max-connects") { Description = "Connection attempts in flight at once.", DefaultValueFactory = _ => Defaults.MaxConcurrentConnects };
    static readonly Option<bool> Json = new("--json") { Description = "Print the result as one JSON object on stdout instead of text." };
    static readonly Option<bool> Idle = new("--idle") { Description = "Connect every client, publish nothing, hold the connections for --duration (keep-alive pings only); progress shows the connected count." };
    static readonly Option<string> Mqtt = new Option<string>("--mqtt") { Description = "MQTT protocol version.", DefaultValueFactory = _ => "3.1.1" }.AcceptOnlyFromAmong("3.1.1", "5");
    static readonly Option<TimeSpan?> DrainTimeout = DurationOption.Create("--drain-timeout", "After publishing stops, how long to wait for outstanding PUBACKs. [default: 10s]", allowZero: true);
    static readonly Option<TimeSpan?> KeepAlive = DurationOption.Create("--keep-alive", "MQTT keep-alive period. [default: 30s]");
    static readonly Option<TimeSpan?> TsBackdate = DurationOption.Create("--ts-backdate", "Each connection's first reading is stamped this long before the start, then +1 ms a reading. [default: 10m]", allowZero: true);
    static readonly Option<string?> Username = new("--username") { Description = "User name for the broker." };
    static readonly Option<FileInfo?> PasswordFile = PasswordSource.FileOption();
    static readonly Option<string?> RefusedPassword = PasswordSource.RefusedOption();

    public static Command Create()
    {
        var command = new Command("load", "Benchmark load: open many MQTT connections and publish as fast as PUBACKs allow, " +
                                          "with a bounded number in flight per connection; measure acked/s and publish→PUBACK latency. " +
                                          "Progress goes to stderr once a second, the result to stdout. Exit code 0: every connection held " +
                                          "and every message acknowledged; 2: otherwise; 1: usage error.")
        {
            Host, Port, Connections, SensorsPerConnection, Duration, Warmup, Inflight, Qos, PayloadBytes, ReadingsPerMessage, TopicPrefix, RunId,
            SourceAddresses, ConnectRate, MaxConnects, Json, Idle, Mqtt, DrainTimeout, KeepAlive, TsBackdate, Username, PasswordFile, RefusedPassword,
        };
        command.SetAction(RunAsync);
        return command;
    }

    /// <summary>How long Ctrl-C waits for the load to drain, disconnect and print its result before the process ends anyway.</summary>
    public static TimeSpan ShutdownGrace(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var drain = parse.Errors.Count == 0 ? parse.GetValue(DrainTimeout) : null;
        return (drain ?? Defaults.DrainTimeout) + TimeSpan.FromSeconds(15);
    }

    static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var (output, error) = (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        LoadGenerator generator;
        try
        {
            generator = new LoadGenerator(Options(parse));
        }
        catch (ArgumentException e)
        {
            await error.WriteLineAsync($"device-sim: {e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal)}");
            return ExitCodes.Usage;
        }

        var options = generator.Options;
        await error.WriteLineAsync($"device-sim load: run {generator.RunId}, {options.Connections} connections -> {options.Host}:{options.Port}, " +
                                   (options.Idle
                                       ? $"idle for {DurationText.Format(options.Duration)}"
                                       : $"QoS {(int)options.Qos}, inflight {options.Inflight}, {DurationText.Format(options.Warmup)} warm-up + " +
                                         $"{DurationText.Format(options.Duration)} measured, topics {generator.Topic(0)} …") + "; Ctrl-C stops");
        // The window's edges as lines of their own, when they happen: telemetry-bench samples other processes' CPU at them.
        var result = await generator.RunAsync(new ConsoleLoadProgress(error, options.Connections),
            edge => error.WriteLine(LoadWindowLines.For(edge)), cancellationToken);
        if (parse.GetValue(Json))
        {
            await output.WriteLineAsync(LoadReportWriter.ToJson(result));
        }
        else
        {
            LoadReportWriter.WriteText(output, result);
        }

        return result.Succeeded ? ExitCodes.Success : ExitCodes.Incomplete;
    }

    static LoadOptions Options(ParseResult parse) => new()
    {
        Host = parse.GetRequiredValue(Host),
        Port = parse.GetValue(Port),
        Connections = parse.GetValue(Connections),
        SensorsPerConnection = parse.GetValue(SensorsPerConnection),
        Duration = parse.GetValue(Duration) ?? Defaults.Duration,
        Warmup = parse.GetValue(Warmup) ?? Defaults.Warmup,
        Inflight = parse.GetValue(Inflight),
        Qos = parse.GetValue(Qos) == "0" ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce,
        PayloadBytes = parse.GetValue(PayloadBytes),
        ReadingsPerMessage = parse.GetValue(ReadingsPerMessage),
        TopicPrefix = parse.GetRequiredValue(TopicPrefix),
        RunId = parse.GetValue(RunId),
        SourceAddresses = ParseAddresses(parse.GetValue(SourceAddresses)),
        ConnectRate = parse.GetValue(ConnectRate),
        MaxConcurrentConnects = parse.GetValue(MaxConnects),
        Idle = parse.GetValue(Idle),
        ProtocolVersion = parse.GetValue(Mqtt) == "5" ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311,
        DrainTimeout = parse.GetValue(DrainTimeout) ?? Defaults.DrainTimeout,
        KeepAlive = parse.GetValue(KeepAlive) ?? Defaults.KeepAlive,
        TimestampBackdate = parse.GetValue(TsBackdate) ?? Defaults.TimestampBackdate,
        Username = parse.GetValue(Username),
        // Read (and --password refused) even without a username; the environment's password is used only with one.
        Password = PasswordSource.Read(parse, PasswordFile, RefusedPassword) is { } password && parse.GetValue(Username) is not null ? password : null,
    };

    static IPAddress[] ParseAddresses(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var addresses = new IPAddress[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!IPAddress.TryParse(parts[i], out var address))
            {
                throw new ArgumentException($"--source-addresses: '{parts[i]}' is not an IP address.");
            }

            addresses[i] = address;
        }

        return addresses;
    }

    /// <summary>Writes each sample as a progress line as soon as it is reported (no synchronisation context).</summary>
    sealed class ConsoleLoadProgress(TextWriter writer, int connections) : IProgress<LoadSample>
    {
        public void Report(LoadSample value) => writer.WriteLine(LoadReportWriter.ProgressLine(value, connections));
    }
}
