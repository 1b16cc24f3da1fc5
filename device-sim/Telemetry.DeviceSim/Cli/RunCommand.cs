using System.CommandLine;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Progress;
using Telemetry.DeviceSim.Scenarios;

namespace Telemetry.DeviceSim.Cli;

/// <summary><c>device-sim run</c>: simulate the campus against a broker, show progress, print the summary.</summary>
static class RunCommand
{
    static readonly SimulatorOptions Defaults = new();

    /// <summary>The service's default <c>Ingest:MaxAge</c>: readings older than this are refused (timestamp_out_of_range).</summary>
    static readonly TimeSpan ServiceMaxAge = TimeSpan.FromDays(30);

    static readonly Option<string> Host = new("--host") { Description = "Broker host name or address.", DefaultValueFactory = _ => Defaults.Host };
    static readonly Option<int> Port = new("--port") { Description = "Broker TCP port.", DefaultValueFactory = _ => Defaults.Port };
    static readonly Option<int> Buildings = new("--buildings") { Description = "Buildings on the campus.", DefaultValueFactory = _ => Defaults.Buildings };
    static readonly Option<int> Rooms = new("--rooms") { Description = "Rooms per building; each has a temperature, humidity, CO2 and occupancy sensor.", DefaultValueFactory = _ => Defaults.RoomsPerBuilding };
    static readonly Option<int> Labs = new("--labs") { Description = "Labs per building (lab1, …), each with two freezers and a fume hood.", DefaultValueFactory = _ => 0 };
    static readonly Option<FileInfo?> ScenarioFile = new("--scenario") { Description = "Scenario file (YAML): registry, start, speed, timetable, behaviour, faults. Command-line options override it." };
    static readonly Option<double?> Speed = new("--speed") { Description = "Time acceleration: simulated seconds per wall second (720: a simulated day in two minutes). [default: 1, or the scenario's]" };
    static readonly Option<string?> Start = new("--start") { Description = "Simulated start time with UTC offset, e.g. 2026-03-02T06:00:00+01:00. [default: now - duration x speed]" };
    static readonly Option<string[]> Fault = new("--fault") { Description = "Inject a fault: FAULT:SENSOR@AT+DURATION[,rate=R], e.g. freezer-failure:bldg-1-lab1-freezer1@10m+1h (simulated time from the start). Repeatable.", Arity = ArgumentArity.ZeroOrMore };
    static readonly Option<FileInfo?> FaultsOut = new("--faults-out") { Description = "Write the injected faults (sensor, fault, simulated start and end) as JSON to this file." };
    static readonly Option<TimeSpan?> Interval = DurationOption.Create("--interval", "Time between two readings of one sensor, in simulated time. [default: each kind's interval]");
    static readonly Option<TimeSpan?> Backfill = DurationOption.Create("--backfill", "Simulate this span (e.g. 30d) from --start (default: now minus the span) as fast as the broker acknowledges, then stop; --speed is ignored. Use --batch 100 to upload stored history in batches.");
    static readonly Option<TimeSpan?> Duration = DurationOption.Create("--duration", "Stop after this long. [default: until Ctrl-C]");
    static readonly Option<string> Qos = new Option<string>("--qos") { Description = "MQTT QoS: 0 (at most once) or 1 (at least once, acknowledged).", DefaultValueFactory = _ => "1" }.AcceptOnlyFromAmong("0", "1");
    static readonly Option<string> Mqtt = new Option<string>("--mqtt") { Description = "MQTT protocol version.", DefaultValueFactory = _ => "3.1.1" }.AcceptOnlyFromAmong("3.1.1", "5");
    static readonly Option<string?> Username = new("--username") { Description = "User name for the broker." };
    static readonly Option<FileInfo?> PasswordFile = PasswordSource.FileOption();
    static readonly Option<string?> RefusedPassword = PasswordSource.RefusedOption();
    static readonly Option<int?> Seed = new("--seed") { Description = "Seed for readings and jitter, to repeat a run. [default: random, printed in the summary]" };
    static readonly Option<int> Batch = new("--batch") { Description = "Readings per message; above 1 a device buffers readings and publishes them as a JSON array.", DefaultValueFactory = _ => Defaults.ReadingsPerMessage };
    static readonly Option<int> MaxConnects = new("--max-connects") { Description = "Connection attempts in flight at once.", DefaultValueFactory = _ => Defaults.MaxConcurrentConnects };
    static readonly Option<string> Timestamps = new Option<string>("--timestamps") { Description = "How readings carry 'ts': Unix epoch milliseconds, an RFC 3339 string, or not at all.", DefaultValueFactory = _ => "epoch-ms" }.AcceptOnlyFromAmong("epoch-ms", "rfc3339", "none");
    static readonly Option<TimeSpan?> AckTimeout = DurationOption.Create("--ack-timeout", "How long a publish waits for its PUBACK. [default: 10s]");
    static readonly Option<TimeSpan?> DrainTimeout = DurationOption.Create("--drain-timeout", "After stopping, how long to wait for outstanding PUBACKs. [default: 5s]");

    public static Command Create()
    {
        var command = new Command("run", "Connect every sensor of the demo campus as its own MQTT client and publish readings. " +
                                         "Progress goes to stderr once a second, the summary to stdout. Exit code 0: all acknowledged; " +
                                         "2: acknowledgements missing, refusals or failures; 1: usage error.")
        {
            Host, Port, ScenarioFile, Buildings, Rooms, Labs, Interval, Duration, Speed, Start, Backfill, Fault, FaultsOut, Qos, Mqtt,
            Username, PasswordFile, RefusedPassword, Seed, Batch, MaxConnects, Timestamps, AckTimeout, DrainTimeout,
        };
        command.SetAction(RunAsync);
        return command;
    }

    /// <summary>How long Ctrl-C waits for the run to drain and print its summary before the process ends anyway.</summary>
    public static TimeSpan ShutdownGrace(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var drain = parse.Errors.Count == 0 ? parse.GetValue(DrainTimeout) : null;
        return (drain ?? Defaults.DrainTimeout) + TimeSpan.FromSeconds(5);
    }

    static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var (output, error) = (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        Simulator simulator;
        try
        {
            simulator = new Simulator(Options(parse));
        }
        catch (ArgumentException e)
        {
            // The options' own names (e.g. RoomsPerBuilding) are close enough to the flags to point the way.
            await error.WriteLineAsync($"device-sim: {e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal)}");
            return ExitCodes.Usage;
        }
        catch (Exception e) when (e is UsageException or NotSupportedException or InvalidDataException or IOException)
        {
            await error.WriteLineAsync($"device-sim: {e.Message}");
            return ExitCodes.Usage;
        }

        if (simulator.Options.Backfill is not null && (simulator.Options.Start ?? DateTimeOffset.UtcNow - simulator.Options.Backfill.Value) < DateTimeOffset.UtcNow - ServiceMaxAge + TimeSpan.FromMinutes(10))
        {
            await error.WriteLineAsync($"device-sim: warning: the backfill begins {ServiceMaxAge.TotalDays:0} days ago or earlier (or close to it); the service refuses readings " +
                                       "older than its Ingest:MaxAge (30 days by default), at MQTT 3.1.1 silently for the simulator (use --mqtt 5 to see the refusals)");
        }

        await error.WriteLineAsync($"device-sim: {simulator.Layout.Sensors.Count} devices in {simulator.Layout.Buildings.Count} buildings " +
                                   $"-> {parse.GetValue(Host)}:{parse.GetValue(Port)}, seed {simulator.Seed}; Ctrl-C stops");
        var summary = await simulator.RunAsync(new ConsoleProgress(error), cancellationToken);
        SummaryWriter.Write(output, summary);
        if (parse.GetValue(FaultsOut) is { } faultsOut)
        {
            try
            {
                await File.WriteAllTextAsync(faultsOut.FullName, FaultsWriter.ToJson(summary.Faults), CancellationToken.None);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"device-sim: cannot write {faultsOut.FullName}: {e.Message}");
                return ExitCodes.Incomplete;
            }
        }

        return summary.Succeeded ? ExitCodes.Success : ExitCodes.Incomplete;
    }

    /// <summary>A problem with the command line or the files it names, reported as a usage error.</summary>
    sealed class UsageException(string message) : Exception(message);

    static SimulatorOptions Options(ParseResult parse)
    {
        Scenario scenario = new();
        if (parse.GetValue(ScenarioFile) is { } file)
        {
            var loaded = ScenarioLoader.LoadFile(file.FullName);
            if (loaded.Scenario is null)
            {
                throw new UsageException("invalid scenario:" + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", loaded.Errors));
            }

            scenario = loaded.Scenario;
        }

        // An explicit campus size asks for the generated campus, even when the scenario names a registry file.
        var generated = !IsDefault(parse, Buildings) || !IsDefault(parse, Rooms) || !IsDefault(parse, Labs);
        var registry = !generated && scenario.Registry is { } path ? RegistryFile.LoadRegistry(path) : null;

        var faults = new List<FaultSpec>(scenario.Faults);
        foreach (var text in parse.GetValue(Fault) ?? [])
        {
            if (!FaultSpec.TryParse(text, out var fault, out var problem))
            {
                throw new UsageException($"--fault: {problem}");
            }

            faults.Add(fault!);
        }

        DateTimeOffset? start = scenario.Start;
        if (parse.GetValue(Start) is { } startText)
        {
            var parsed = ScenarioLoader.Load($"start: \"{startText}\"", "--start");
            start = parsed.Scenario?.Start ?? throw new UsageException($"--start: '{startText}' is not a date and time with a UTC offset, e.g. 2026-03-02T06:00:00+01:00");
        }

        return new SimulatorOptions
        {
            Registry = registry,
            Speed = parse.GetValue(Speed) ?? scenario.Speed ?? 1,
            Start = start,
            Backfill = parse.GetValue(Backfill),
            Timetable = scenario.Timetable ?? Defaults.Timetable,
            Behaviour = scenario.Behaviour ?? Defaults.Behaviour,
            Faults = faults,
        Host = parse.GetRequiredValue(Host),
        Port = parse.GetValue(Port),
        Buildings = parse.GetValue(Buildings),
        RoomsPerBuilding = parse.GetValue(Rooms),
        LabsPerBuilding = parse.GetValue(Labs),
        Interval = parse.GetValue(Interval),
        Duration = parse.GetValue(Duration),
        Qos = parse.GetValue(Qos) == "0" ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce,
        ProtocolVersion = parse.GetValue(Mqtt) == "5" ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311,
        Username = parse.GetValue(Username),
        Password = PasswordSource.Read(parse, PasswordFile, RefusedPassword),
        Seed = parse.GetValue(Seed),
        ReadingsPerMessage = parse.GetValue(Batch),
        MaxConcurrentConnects = parse.GetValue(MaxConnects),
        Timestamps = parse.GetValue(Timestamps) switch
        {
            "rfc3339" => TimestampFormat.Rfc3339,
            "none" => TimestampFormat.None,
            _ => TimestampFormat.EpochMilliseconds,
        },
        AckTimeout = parse.GetValue(AckTimeout) ?? Defaults.AckTimeout,
        DrainTimeout = parse.GetValue(DrainTimeout) ?? Defaults.DrainTimeout,
        };

        static bool IsDefault(ParseResult parse, Option option) => parse.GetResult(option) is null or { Implicit: true };
    }
}
