using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.DeviceSim.Load;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.Benchmarks;

/// <summary>
/// <c>telemetry-bench e2e</c>: the whole pipeline under load, and mosquitto under the same load in the same run.
/// Starts a real InfluxDB and the service (this build, its own process, v1 API), drives it with the device
/// simulator's load generator (its own process), measures acknowledged rates, publish→PUBACK latency, publish→visible
/// in InfluxDB, the service's CPU and peak RSS, and checks that InfluxDB holds exactly what was acknowledged.
/// Then runs the same load against mosquitto with one counting subscriber and prints the ratio.
/// </summary>
static class E2eCommand
{
    static readonly Option<int> Connections = new("--connections") { Description = "Device connections.", DefaultValueFactory = _ => 100 };
    static readonly Option<string> Duration = new("--duration") { Description = "Measured window (after warm-up), e.g. 30s.", DefaultValueFactory = _ => "30s" };
    static readonly Option<string> Warmup = new("--warmup") { Description = "Warm-up before the measured window.", DefaultValueFactory = _ => "3s" };
    static readonly Option<int> SensorsPerConnection = new("--sensors-per-connection") { Description = "Sensors each connection publishes for, in turn (a gateway's devices).", DefaultValueFactory = _ => 1 };
    static readonly Option<int> Inflight = new("--inflight") { Description = "Unacknowledged publishes per connection at most.", DefaultValueFactory = _ => 8 };
    static readonly Option<int> Qos = new("--qos") { Description = "0 or 1.", DefaultValueFactory = _ => 1 };
    static readonly Option<int> PayloadBytes = new("--payload-bytes") { Description = "Size of one reading's JSON.", DefaultValueFactory = _ => 100 };
    static readonly Option<int> ReadingsPerMessage = new("--readings-per-message") { Description = "Readings per message.", DefaultValueFactory = _ => 1 };
    static readonly Option<bool> NoBaseline = new("--no-baseline") { Description = "Skip the mosquitto run." };
    static readonly Option<bool> Quick = new("--quick") { Description = "A smoke run: 10 connections, 2 s, 1 s warm-up (options given explicitly win)." };
    static readonly Option<int> Cluster = new("--cluster") { Description = "Also run the load through HAProxy against this many nodes as one cluster on PostgreSQL (0: no cluster run; 3: the only size deploy/haproxy/haproxy.cfg balances) and compare with the single node." };
    static readonly Option<string[]> ServiceSetting = new("--service-setting") { Description = "Extra service configuration, e.g. --service-setting Writer:MaxBatchLines=10000.", AllowMultipleArgumentsPerToken = true };

    public static Command Create()
    {
        var command = new Command("e2e", "End-to-end throughput and latency of the service against mosquitto, with a stored-equals-acknowledged check.")
        {
            Connections, SensorsPerConnection, Duration, Warmup, Inflight, Qos, PayloadBytes, ReadingsPerMessage, NoBaseline, Quick, ServiceSetting, Cluster,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(Cluster) is not (0 or ClusterRun.Nodes))
            {
                result.AddError($"--cluster must be 0 or {ClusterRun.Nodes} (deploy/haproxy/haproxy.cfg balances {ClusterRun.Nodes} nodes)");
            }
        });
        command.SetAction(RunAsync);
        return command;
    }

    static string Get(ParseResult parse, Option<string> option, bool quick, string quickValue) =>
        quick && parse.GetResult(option) is null or { Implicit: true } ? quickValue : parse.GetValue(option)!;

    static int Get(ParseResult parse, Option<int> option, bool quick, int quickValue) =>
        quick && parse.GetResult(option) is null or { Implicit: true } ? quickValue : parse.GetValue(option);

    static async Task<int> RunAsync(ParseResult parse, CancellationToken ct)
    {
        var quick = parse.GetValue(Quick);
        var connections = Get(parse, Connections, quick, 10);
        var sensorsPerConnection = parse.GetValue(SensorsPerConnection);
        var load = new List<string>
        {
            "--connections", connections.ToString(CultureInfo.InvariantCulture),
            "--sensors-per-connection", sensorsPerConnection.ToString(CultureInfo.InvariantCulture),
            "--duration", Get(parse, Duration, quick, "2s"),
            "--warmup", Get(parse, Warmup, quick, "1s"),
            "--inflight", parse.GetValue(Inflight).ToString(CultureInfo.InvariantCulture),
            "--qos", parse.GetValue(Qos).ToString(CultureInfo.InvariantCulture),
            "--payload-bytes", parse.GetValue(PayloadBytes).ToString(CultureInfo.InvariantCulture),
            "--readings-per-message", parse.GetValue(ReadingsPerMessage).ToString(CultureInfo.InvariantCulture),
            "--json",
        };
        var root = BenchPaths.DefaultDataDirectory();
        var work = Path.Combine(root, $"e2e-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        var report = new Report(Console.Out);
        var machine = MachineInfo.Collect(work);
        report.Title("telemetry-bench e2e");
        report.Row("machine", $"{machine.Cores} cores, {machine.Memory}, {machine.Cpu}; {machine.Dotnet}");
        report.Row("spool disk", machine.Filesystem);
        report.Row("load", string.Join(' ', load.Where(a => a != "--json")));
        report.Row("load average before", MachineInfo.LoadAverage());
        var fileLimit = FileLimits.Raise((ulong)Math.Max(65_536, (connections * 2) + 10_000));
        if (fileLimit < (ulong)connections + 2_000)
        {
            report.Note($"the open-file limit is {fileLimit}: too low for {connections} connections");
        }

        // Sensors of the run, and the visibility probe's.
        var admission = BenchLoadSettings.For(((long)connections * sensorsPerConnection) + 1);
        report.Row("service settings (benchmark)", string.Join(' ', admission));
        var settings = parse.GetValue(ServiceSetting) ?? [];
        if (settings.Length > 0)
        {
            report.Row("service settings (given)", string.Join(' ', settings));
        }

        try
        {
            var ours = await RunServiceAsync(work, load, [.. admission, .. settings], report, ct);
            if (ours is null)
            {
                return 1;
            }

            var verified = ours.Value.Verified;
            if (parse.GetValue(Cluster) > 0)
            {
                var cluster = await ClusterRun.RunAsync(work, load, [.. admission, .. settings], report, ct);
                if (cluster is null)
                {
                    return 1;
                }

                verified &= cluster.Verified;
                report.Section($"cluster of {ClusterRun.Nodes} / single node (same load, same machine)");
                report.Row("acknowledged msg/s", Ratio(cluster.Result.AckedPerSecond, ours.Value.Result.AckedPerSecond));
                report.Row("PUBACK p50", Ratio(cluster.Result.LatencyMs.P50, ours.Value.Result.LatencyMs.P50) + " (lower is better)");
                report.Row("PUBACK p99", Ratio(cluster.Result.LatencyMs.P99, ours.Value.Result.LatencyMs.P99) + " (lower is better)");
                var single = ours.Value.Load.MicrosecondsPerMessage(Service);
                var nodes = ClusterRun.NodesMicroseconds(cluster.Load, cluster.NodeNames, cluster.Result);
                report.Row("service CPU per message", $"{Report.Number(nodes)} µs (all nodes) vs {Report.Number(single)} µs (one node): {Ratio(nodes, single)}");
                report.Note("The extra CPU per message is the cluster's cost: grain calls that cross to another node (serialised, sent over the silo");
                report.Note("connection), PostgreSQL grain storage instead of files, and three processes' fixed costs on the same cores.");
                report.Flush();
            }

            if (parse.GetValue(NoBaseline))
            {
                return verified ? 0 : 2;
            }

            var mosquitto = await RunMosquittoAsync(load, report, ct);
            report.Section("ratio (ours / mosquitto)");
            report.Row("acknowledged msg/s", Ratio(ours.Value.Result.AckedPerSecond, mosquitto.Result.AckedPerSecond));
            report.Row("vs mosquitto's relay rate", Ratio(ours.Value.Result.AckedPerSecond, mosquitto.RelayPerSecond));
            report.Row("PUBACK p99", Ratio(ours.Value.Result.LatencyMs.P99, mosquitto.Result.LatencyMs.P99) + " (lower is better)");
            CpuTable(report, ours.Value.Load, mosquitto.Load);
            report.Row("load average after", MachineInfo.LoadAverage());
            report.Flush();
            return verified ? 0 : 2;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    static string Ratio(double a, double b) => b > 0 && !double.IsNaN(a) ? (a / b).ToString("0.00", CultureInfo.InvariantCulture) + " ×" : "n/a";

    const string Service = "service";
    const string Influx = "InfluxDB";
    const string Mosquitto = "mosquitto";
    const string Bench = "telemetry-bench (probe / subscriber)";

    /// <summary>CPU per acknowledged message over each run's measured window, side by side, with the ratios.</summary>
    static void CpuTable(Report report, LoadOutcome ours, LoadOutcome theirs)
    {
        report.Section("CPU per acknowledged message, measured window (µs; share of one core)");
        report.Note($"{"",-34}{"Campus Telemetry run",22}{"mosquitto run",22}{"ratio",10}");
        Line("broker (service / mosquitto)", Cell(ours, Service), Cell(theirs, Mosquitto), Ratio(ours.MicrosecondsPerMessage(Service), theirs.MicrosecondsPerMessage(Mosquitto)));
        Line("InfluxDB", Cell(ours, Influx), "-", "");
        Line("load generator", Cell(ours, LoadOutcome.Generator), Cell(theirs, LoadOutcome.Generator),
            Ratio(ours.MicrosecondsPerMessage(LoadOutcome.Generator), theirs.MicrosecondsPerMessage(LoadOutcome.Generator)));
        Line("telemetry-bench (probe / counter)", Cell(ours, Bench), Cell(theirs, Bench), "");
        report.Note("utime+stime from /proc at the load generator's window edges, divided by the messages acknowledged in the window");

        void Line(string label, string a, string b, string ratio) => report.Note($"{label,-34}{a,22}{b,22}{ratio,10}");

        static string Cell(LoadOutcome run, string name)
        {
            var us = run.MicrosecondsPerMessage(name);
            return double.IsNaN(us) ? "n/a" : $"{Report.Number(us)} ({Report.Percent(run.Cpu.Cores(name))})";
        }
    }

    static async Task<(LoadResult Result, bool Verified, LoadOutcome Load)?> RunServiceAsync(string work, List<string> load, string[] settings, Report report, CancellationToken ct)
    {
        await using var influx = await InfluxDbServer.StartAsync(ct);
        await influx.CreateDatabaseAsync("campus", ct);
        await using var service = await ServiceProcess.StartAsync(
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus",
                "--Serilog:MinimumLevel:Default=Warning",
                .. settings.Select(s => "--" + s),
            ],
            "health/ready", work, ct);

        var runId = Guid.NewGuid().ToString("N")[..8];
        var cpuBefore = CpuTime.OfProcess(service.Process.Pid);
        var clock = Stopwatch.StartNew();
        var probe = new VisibilityProbe(influx, "campus", service.MqttPort, $"probe-{runId}");
        using var stopProbe = new CancellationTokenSource();
        var probing = probe.RunAsync(stopProbe.Token);
        var outcome = await LoadRunner.RunAsync("127.0.0.1", service.MqttPort, ["--run-id", runId, .. load],
            [(Service, service.Process.Pid), (Influx, influx.Pid), (Bench, Environment.ProcessId)], ct);
        var elapsed = clock.Elapsed;
        var cpu = CpuTime.OfProcess(service.Process.Pid) - cpuBefore;
        var peakRss = ProcessStats.PeakRssBytes(service.Process.Pid);
        await stopProbe.CancelAsync();
        await probing;

        var result = outcome.Result;
        if (result is null)
        {
            report.Note($"the load generator exited {outcome.ExitCode} without a result");
            return null;
        }

        // Everything acknowledged is durable; wait until the drainer has moved it into InfluxDB, then count.
        var drainClock = Stopwatch.StartNew();
        await probe.FinishAsync(TimeSpan.FromSeconds(120), ct);
        var stored = await WaitForCountAsync(influx, runId, result.ReadingsAcked, TimeSpan.FromSeconds(120), ct);
        var drainedAfter = drainClock.Elapsed;
        var refused = await ServiceMetrics.RefusedMessagesAsync(service, ct);
        service.Process.Stop();

        var verified = stored == result.ReadingsAcked || (stored > result.ReadingsAcked && stored <= result.ReadingsSent);
        var visible = new Distribution(probe.VisibleAfterMs);
        report.Section("Campus Telemetry (embedded broker → grains → spool → InfluxDB 1.6, v1 API)");
        Describe(report, result);
        report.Row("publish → visible in InfluxDB", visible.Count > 0
            ? $"p50 {visible.Percentile(50):0} ms, p99 {visible.Percentile(99):0} ms, max {visible.Max:0} ms ({visible.Count} markers, {probe.NeverSeen} never seen)"
            : "no markers");
        report.Row("service CPU", $"{cpu.TotalSeconds / elapsed.TotalSeconds * 100:0} % of one core (of {Environment.ProcessorCount}) over {Report.Seconds(elapsed)} (connecting, warm-up, window, drain)");
        report.Row("CPU in the measured window", $"service {outcome.Cpu.Describe(Service, result.MeasuredMessagesAcked)}");
        report.Row("", $"InfluxDB {outcome.Cpu.Describe(Influx, result.MeasuredMessagesAcked)}");
        report.Row("", $"load generator {outcome.Cpu.Describe(LoadOutcome.Generator, result.MeasuredMessagesAcked)}");
        report.Row("refused by the service", $"{Report.Count(refused)} messages (telemetry_mqtt_messages_refused_total)");
        report.Row("service peak RSS", $"{peakRss / 1024.0 / 1024.0:0} MiB");
        report.Row("InfluxDB holds", $"{Report.Count(stored)} readings; acknowledged {Report.Count(result.ReadingsAcked)} → {(verified ? "OK" : "MISMATCH")}" +
            $" (all in InfluxDB {Report.Seconds(drainedAfter)} after the load ended)");
        report.Flush();
        return (result, verified, outcome);
    }

    static async Task<(LoadResult Result, double RelayPerSecond, LoadOutcome Load)> RunMosquittoAsync(List<string> load, Report report, CancellationToken ct)
    {
        await using var mosquitto = await MosquittoServer.StartAsync(
            "max_queued_messages 0\nmax_inflight_messages 0\nmax_queued_bytes 0\nconnection_messages false", ct);
        using var subscriber = new MqttClientFactory().CreateMqttClient();
        long received = 0;
        long firstTicks = 0, lastTicks = 0;
        subscriber.ApplicationMessageReceivedAsync += _ =>
        {
            var now = Stopwatch.GetTimestamp();
            if (Interlocked.Increment(ref received) == 1)
            {
                firstTicks = now;
            }

            Volatile.Write(ref lastTicks, now);
            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(mosquitto.Host, mosquitto.Port).WithClientId("bench-counter").Build(), ct);
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("campus/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct);

        var outcome = await LoadRunner.RunAsync(mosquitto.Host, mosquitto.Port, load,
            [(Mosquitto, mosquitto.Pid), (Bench, Environment.ProcessId)], ct);
        var result = outcome.Result ?? throw new InvalidOperationException("the load generator gave no result for mosquitto");

        // Let the subscriber catch up on what mosquitto still relays.
        await Poll.UntilAsync($"the subscriber to receive the {result.MessagesAcked} acknowledged messages", () => Task.FromResult(Interlocked.Read(ref received)),
            count => count >= result.MessagesAcked, TimeSpan.FromSeconds(30), every: TimeSpan.FromMilliseconds(50), cancellationToken: ct);

        var relaySeconds = Stopwatch.GetElapsedTime(firstTicks, Volatile.Read(ref lastTicks)).TotalSeconds;
        var relay = relaySeconds > 0 ? received / relaySeconds : 0;
        report.Section("mosquitto 2.0 (one subscriber counting, QoS 1)");
        Describe(report, result);
        report.Row("relayed to the subscriber", $"{Report.Count(received)} of {Report.Count(result.MessagesAcked)} acknowledged, {Report.Count(relay)} msg/s");
        report.Row("CPU in the measured window", $"mosquitto {outcome.Cpu.Describe(Mosquitto, result.MeasuredMessagesAcked)}");
        report.Row("", $"load generator {outcome.Cpu.Describe(LoadOutcome.Generator, result.MeasuredMessagesAcked)}");
        report.Flush();
        return (result, relay, outcome);
    }

    internal static void Describe(Report report, LoadResult r)
    {
        report.Row("connections", $"{r.ConnectionsEstablished} of {r.Connections}, inflight {r.Inflight}, QoS {r.Qos}, {r.MessageBytes} B messages, {r.ReadingsPerMessage} reading(s) each");
        report.Row("acknowledged", $"{Report.Count(r.AckedPerSecond)} msg/s, {Report.Count(r.ReadingsPerSecond)} readings/s over {r.DurationSeconds:0.#} s");
        report.Row("publish → PUBACK", $"p50 {r.LatencyMs.P50:0.00} ms, p95 {r.LatencyMs.P95:0.00} ms, p99 {r.LatencyMs.P99:0.00} ms, max {r.LatencyMs.Max:0.0} ms");
        report.Row("totals", $"sent {Report.Count(r.MessagesSent)}, acknowledged {Report.Count(r.MessagesAcked)} messages / {Report.Count(r.ReadingsAcked)} readings, unacknowledged {r.MessagesUnacknowledged}, refused {r.MessagesRefused}");
        if (r.Failures.Count > 0)
        {
            report.Row("failures", string.Join(", ", r.Failures.Select(f => $"{f.Key} {f.Value}")));
        }
    }

    internal static JsonSerializerOptions JsonOptions => LoadRunner.JsonOptions;

    internal static Task<long> WaitForCountAsync(InfluxDbServer influx, string runId, long expected, TimeSpan within, CancellationToken ct) =>
        Poll.UntilAsync($"the {expected} acknowledged readings of run {runId} in InfluxDB", async () =>
        {
            var series = await influx.QueryAsync("campus", $"SELECT count(temperature) FROM telemetry WHERE sensor =~ /^{runId}-c/", ct);
            return series.Count > 0 && series[0].Values.Count > 0 ? series[0].Get(0, "count").GetInt64() : 0;
        }, count => count >= expected, within, every: TimeSpan.FromMilliseconds(100), cancellationToken: ct);
}
