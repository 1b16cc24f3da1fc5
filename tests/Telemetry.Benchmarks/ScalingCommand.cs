using System.CommandLine;
using System.Globalization;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.Benchmarks;

/// <summary>
/// <c>telemetry-bench scaling</c>: how the service's cost grows with the work, as two tables.
/// <list type="number">
/// <item>Connections: msg/s and the service's CPU per 1,000 msg/s (and per message) at 100, 1,000 and 10,000
/// connections (one sensor each). The publishes in flight are capped in total (<c>--max-in-flight</c>), so the
/// rate per connection falls as connections grow while the load stays comparable.</item>
/// <item>Active sensors: the service's peak RSS (<c>VmHWM</c>) against the number of distinct sensors publishing
/// (1k, 10k, 100k), spread over <c>--sensor-connections</c> connections (<c>device-sim load --sensors-per-connection</c>).</item>
/// </list>
/// Every step runs a fresh service process (its own spool) against one InfluxDB, with the admission limits raised for
/// the benchmark (printed); the load generator's measured window delimits the CPU figures, as in <c>e2e</c>. A step whose
/// messages the service refused is reported and makes the exit code 2.
/// </summary>
static class ScalingCommand
{
    const string Service = "service";
    const string Influx = "InfluxDB";

    static readonly Option<string> ConnectionSteps = new("--connection-steps") { Description = "Connection counts to measure, comma-separated ('' skips the table).", DefaultValueFactory = _ => "100,1000,10000" };
    static readonly Option<string> SensorSteps = new("--sensor-steps") { Description = "Active sensor counts to measure, comma-separated ('' skips the table).", DefaultValueFactory = _ => "1000,10000,100000" };
    static readonly Option<int> SensorConnections = new("--sensor-connections") { Description = "Connections the sensors of a sensor step are spread over.", DefaultValueFactory = _ => 100 };
    static readonly Option<int> Inflight = new("--inflight") { Description = "Unacknowledged publishes per connection at most.", DefaultValueFactory = _ => 8 };
    static readonly Option<int> MaxInFlight = new("--max-in-flight") { Description = "Unacknowledged publishes of all connections together at most: per connection min(--inflight, this / connections), at least 1.", DefaultValueFactory = _ => 2000 };
    static readonly Option<string> Duration = new("--duration") { Description = "Measured window of each step, e.g. 15s.", DefaultValueFactory = _ => "15s" };
    static readonly Option<string> Warmup = new("--warmup") { Description = "Warm-up of each step (it must also reach every sensor of a sensor step).", DefaultValueFactory = _ => "10s" };
    static readonly Option<string?> SensorWarmup = new("--sensor-warmup") { Description = "Warm-up of the sensor steps, when it must be longer to reach every sensor. [default: --warmup]" };
    static readonly Option<bool> Quick = new("--quick") { Description = "A smoke run: steps 10,50 connections and 100,500 sensors (over 10 connections), 2 s, 1 s warm-up (options given explicitly win)." };
    static readonly Option<string[]> ServiceSetting = new("--service-setting") { Description = "Extra service configuration for every step, e.g. --service-setting Writer:MaxBatchLines=10000.", AllowMultipleArgumentsPerToken = true };

    public static Command Create()
    {
        var command = new Command("scaling", "msg/s and service CPU per 1,000 msg/s against the number of connections; service peak RSS against the number of active sensors.")
        {
            ConnectionSteps, SensorSteps, SensorConnections, Inflight, MaxInFlight, Duration, Warmup, SensorWarmup, Quick, ServiceSetting,
        };
        command.SetAction(RunAsync);
        return command;
    }

    static T Get<T>(ParseResult parse, Option<T> option, bool quick, T quickValue) =>
        quick && parse.GetResult(option) is null or { Implicit: true } ? quickValue : parse.GetValue(option)!;

    static int[] Steps(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, NumberStyles.AllowThousands, CultureInfo.InvariantCulture))];

    sealed record Settings(int Inflight, int MaxInFlight, string Warmup, string Duration, string[] Extra);

    sealed record Step(int Connections, int SensorsPerConnection, int Inflight, LoadOutcome Load, long IdleRss, long PeakRss, long EndRss, long Refused, string LoadAverage)
    {
        public long Sensors => (long)Connections * SensorsPerConnection;
    }

    static async Task<int> RunAsync(ParseResult parse, CancellationToken ct)
    {
        var quick = parse.GetValue(Quick);
        var connectionSteps = Steps(Get(parse, ConnectionSteps, quick, "10,50"));
        var sensorSteps = Steps(Get(parse, SensorSteps, quick, "100,500"));
        var sensorConnections = Get(parse, SensorConnections, quick, 10);
        var settings = new Settings(parse.GetValue(Inflight), parse.GetValue(MaxInFlight),
            Get(parse, Warmup, quick, "1s"), Get(parse, Duration, quick, "2s"), parse.GetValue(ServiceSetting) ?? []);

        var most = connectionSteps.Append(Math.Min(sensorConnections, sensorSteps.DefaultIfEmpty(1).Max())).Max();
        var fileLimit = FileLimits.Raise((ulong)Math.Max(65_536, (most * 2) + 10_000));
        var work = Path.Combine(BenchPaths.DefaultDataDirectory(), $"scaling-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        var report = new Report(Console.Out);
        var machine = MachineInfo.Collect(work);
        report.Title("telemetry-bench scaling");
        report.Row("machine", $"{machine.Cores} cores, {machine.Memory}, {machine.Cpu}; {machine.Dotnet}");
        report.Row("spool disk", machine.Filesystem);
        report.Row("open-file limit", fileLimit.ToString(CultureInfo.InvariantCulture));
        report.Row("each step", $"fresh service, QoS 1, 100 B, inflight min({settings.Inflight}, {settings.MaxInFlight} / connections), warm-up {settings.Warmup}, {settings.Duration} measured");
        report.Row("service settings (benchmark)", BenchLoadSettings.Description);
        if (settings.Extra.Length > 0)
        {
            report.Row("service settings (given)", string.Join(' ', settings.Extra));
        }

        report.Row("load average before", MachineInfo.LoadAverage());
        report.Flush();
        var allAdmitted = true;
        try
        {
            await using var influx = await InfluxDbServer.StartAsync(ct);
            await influx.CreateDatabaseAsync("campus", ct);

            if (connectionSteps.Length > 0)
            {
                report.Section("Connections (one sensor each)");
                report.Note($"{"connections",11} {"inflight",8} {"msg/s",9} {"service CPU",12} {"per 1,000 msg/s",16} {"µs/msg",8} {"PUBACK p99",11} {"peak RSS",9} {"refused",8}  load average at start");
                report.Flush();
                foreach (var connections in connectionSteps)
                {
                    var step = await RunStepAsync(influx, work, connections, 1, settings, ct);
                    allAdmitted &= step.Refused == 0 && step.Load.Result is not null;
                    var r = step.Load.Result;
                    var cores = step.Load.Cpu.Cores(Service);
                    report.Note(r is null
                        ? $"{connections,11} the load generator exited {step.Load.ExitCode} without a result"
                        : $"{connections,11} {step.Inflight,8} {Report.Count(r.AckedPerSecond),9} {Report.Percent(cores) + " core",12} " +
                          $"{Report.Percent(cores / (r.AckedPerSecond / 1000)) + " core",16} {Report.Number(step.Load.MicrosecondsPerMessage(Service)),8} " +
                          $"{r.LatencyMs.P99.ToString("0.0", CultureInfo.InvariantCulture) + " ms",11} {Mib(step.PeakRss) + " MiB",9} {step.Refused,8}  {step.LoadAverage}" +
                          Problems(r, connections));
                    report.Flush();
                }
            }

            if (sensorSteps.Length > 0)
            {
                var sensorSettings = parse.GetValue(SensorWarmup) is { } longer ? settings with { Warmup = longer } : settings;
                report.Section($"Active sensors (spread over {sensorConnections} connections, warm-up {sensorSettings.Warmup})");
                report.Note($"{"sensors",9} {"conns",6} {"reached",8} {"msg/s",9} {"idle RSS",9} {"peak RSS",9} {"RSS at end",10} {"Δpeak per added sensor",23} {"µs/msg",8} {"refused",8}  load average at start");
                report.Flush();
                Step? previous = null;
                foreach (var sensors in sensorSteps)
                {
                    var connections = Math.Min(sensorConnections, sensors);
                    var perConnection = (sensors + connections - 1) / connections;
                    var step = await RunStepAsync(influx, work, connections, perConnection, sensorSettings, ct);
                    allAdmitted &= step.Refused == 0 && step.Load.Result is not null;
                    var r = step.Load.Result;
                    // Sensors of a connection take turns message by message: a connection reached all of its sensors once it sent that many messages.
                    var reached = r is null ? 0 : Math.Min(perConnection, r.MessagesSent / connections) * connections;
                    report.Note(r is null
                        ? $"{step.Sensors,9} the load generator exited {step.Load.ExitCode} without a result"
                        : $"{Report.Count(step.Sensors),9} {connections,6} {Report.Count(reached),8} {Report.Count(r.AckedPerSecond),9} {Mib(step.IdleRss) + " MiB",9} " +
                          $"{Mib(step.PeakRss) + " MiB",9} {Mib(step.EndRss) + " MiB",10} {PerAddedSensor(previous, step),23} " +
                          $"{Report.Number(step.Load.MicrosecondsPerMessage(Service)),8} {step.Refused,8}  {step.LoadAverage}" + Problems(r, connections));
                    report.Flush();
                    previous = step;
                }
            }
        }
        finally
        {
            TestServer.DeleteDirectory(work);
        }

        report.Section("notes");
        report.Note("service CPU: utime+stime of the service process over the load generator's measured window (/proc), as a share of one core;");
        report.Note("per 1,000 msg/s: that share divided by the acknowledged rate in thousands. µs/msg: service CPU per acknowledged message.");
        report.Note("peak RSS: VmHWM of the step's service process (start-up, connecting, warm-up and window); idle RSS: settled before the load;");
        report.Note("Δpeak per added sensor: peak RSS minus the previous step's, divided by the sensors added. reached: sensors that got a message.");
        report.Row("load average after", MachineInfo.LoadAverage());
        report.Flush();
        return allAdmitted ? 0 : 2;
    }

    /// <summary>
    /// Peak RSS growth from the previous step per sensor added: what one more active sensor costs, without the fixed
    /// cost of the load itself (connections, buffers, the spool) that the first step carries. "-" for the first step.
    /// </summary>
    static string PerAddedSensor(Step? previous, Step step) =>
        previous is null || step.Sensors <= previous.Sensors
            ? "-"
            : Report.Count((step.PeakRss - previous.PeakRss) / (double)(step.Sensors - previous.Sensors)) + " B";

    static string Problems(DeviceSim.Load.LoadResult r, int connections) =>
        r.ConnectionsEstablished < connections || r.MessagesUnacknowledged > 0 || r.Failures.Count > 0
            ? $"  ({r.ConnectionsEstablished} of {connections} connected, {r.MessagesUnacknowledged} unacknowledged; {string.Join(", ", r.Failures.Select(f => $"{f.Key} {f.Value}"))})"
            : "";

    static async Task<Step> RunStepAsync(InfluxDbServer influx, string work, int connections, int sensorsPerConnection, Settings settings, CancellationToken ct)
    {
        var loadAverage = MachineInfo.LoadAverage();
        var inflight = Math.Clamp(settings.MaxInFlight / connections, 1, settings.Inflight);
        await using var service = await ServiceProcess.StartAsync(
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus",
                "--Serilog:MinimumLevel:Default=Warning",
                .. BenchLoadSettings.For((long)connections * sensorsPerConnection).Select(s => "--" + s),
                .. settings.Extra.Select(s => "--" + s),
            ],
            "health/ready", work, ct);
        var idleRss = await ProcessStats.SettledRssAsync(service.Process.Pid, ct);
        var load = await LoadRunner.RunAsync("127.0.0.1", service.MqttPort,
            [
                "--connections", connections.ToString(CultureInfo.InvariantCulture),
                "--sensors-per-connection", sensorsPerConnection.ToString(CultureInfo.InvariantCulture),
                "--inflight", inflight.ToString(CultureInfo.InvariantCulture),
                "--warmup", settings.Warmup, "--duration", settings.Duration, "--json",
            ],
            [(Service, service.Process.Pid), (Influx, influx.Pid)], ct);
        var peakRss = ProcessStats.PeakRssBytes(service.Process.Pid);
        var endRss = ProcessStats.RssBytes(service.Process.Pid);
        var refused = await ServiceMetrics.RefusedMessagesAsync(service, ct);
        service.Process.Stop();
        return new Step(connections, sensorsPerConnection, inflight, load, idleRss, peakRss, endRss, refused, loadAverage);
    }

    static string Mib(long bytes) => (bytes / 1024.0 / 1024.0).ToString("N0", CultureInfo.InvariantCulture);
}
