using System.Diagnostics;
using System.Globalization;
using Telemetry.DeviceSim.Load;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.Benchmarks;

/// <summary>
/// <c>telemetry-bench e2e --cluster 3</c>: the same load as the single-node run, through HAProxy (the repository's
/// <c>deploy/haproxy/haproxy.cfg</c>) to three service processes on this machine that form one Orleans cluster on a
/// real PostgreSQL (membership, grain state, reminders), with one InfluxDB. Every node is a full edge (broker, spool,
/// drainer, grain feed); a sensor's grain lives on one of the three, so about two thirds of the feed's grain calls
/// cross to another process. Reports what the single-node run reports, per node, and the comparison.
/// </summary>
static class ClusterRun
{
    public const int Nodes = 3;

    public sealed record Outcome(LoadResult Result, bool Verified, LoadOutcome Load, IReadOnlyList<string> NodeNames, NodeFeed[] Feeds);

    /// <summary>A node's grain feed over the run, from its /metrics: grain calls made, and grain calls tried again.</summary>
    public sealed record NodeFeed(double Calls, double Retries, double Messages);

    public static async Task<Outcome?> RunAsync(string work, List<string> load, string[] settings, Report report, CancellationToken ct)
    {
        await using var postgres = await PostgresServer.StartAsync(ct);
        var database = $"bench_{Guid.NewGuid():N}";
        var connectionString = await postgres.CreateDatabaseAsync(database, ct);
        await ApplySchemaAsync(connectionString, ct);
        await using var influx = await InfluxDbServer.StartAsync(ct);
        await influx.CreateDatabaseAsync("campus", ct);

        var names = Enumerable.Range(1, Nodes).Select(i => $"node{i}").ToList();
        var nodes = new List<ServiceProcess>();
        try
        {
            foreach (var name in names)
            {
                // One after another: three .NET hosts starting at once on a small machine miss their readiness deadline.
                nodes.Add(await ServiceProcess.StartAsync(
                    [
                        "--Orleans:Clustering=AdoNet", $"--Orleans:ConnectionString={connectionString}", $"--Orleans:ClusterId={database}", $"--Orleans:NodeName={name}",
                        "--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus",
                        "--Serilog:MinimumLevel:Default=Warning",
                        .. settings.Select(s => "--" + s),
                    ],
                    "health/ready", work, ct));
            }

            await using var haproxy = await HaproxyServer.StartAsync([.. nodes.Select(n => new HaproxyBackend(n.MqttPort, n.HttpUrl.Port))], ct);
            await Poll.UntilAsync($"{Nodes} nodes active in Orleans' membership table",
                () => postgres.QueryAsync(database, "SELECT count(*) FROM orleansmembershiptable WHERE status = 3", ct),
                rows => rows is [var n] && n == Nodes.ToString(CultureInfo.InvariantCulture), TimeSpan.FromSeconds(90), cancellationToken: ct);
            await Poll.UntilAsync("HAProxy to see every node UP", () => haproxy.ServerStatesAsync(ct),
                states => states.Count == Nodes && states.Values.All(s => s.Status == "UP"), TimeSpan.FromSeconds(60), show: HaproxyServer.Describe, cancellationToken: ct);

            var runId = Guid.NewGuid().ToString("N")[..8];
            var probe = new VisibilityProbe(influx, "campus", haproxy.Port, $"probe-{runId}");
            using var stopProbe = new CancellationTokenSource();
            var probing = probe.RunAsync(stopProbe.Token);
            var feedBefore = await Task.WhenAll(nodes.Select(n => FeedAsync(n, ct)));
            var outcome = await LoadRunner.RunAsync("127.0.0.1", haproxy.Port, ["--run-id", runId, .. load],
                [.. nodes.Select((n, i) => (names[i], n.Process.Pid)), ("haproxy", haproxy.Pid), (Influx, influx.Pid), (Postgres, postgres.Pid)], ct);
            await stopProbe.CancelAsync();
            await probing;
            var result = outcome.Result;
            if (result is null)
            {
                report.Note($"the load generator exited {outcome.ExitCode} without a result (cluster)");
                return null;
            }

            var drainClock = Stopwatch.StartNew();
            await probe.FinishAsync(TimeSpan.FromSeconds(120), ct);
            var stored = await E2eCommand.WaitForCountAsync(influx, runId, result.ReadingsAcked, TimeSpan.FromSeconds(120), ct);
            var drainedAfter = drainClock.Elapsed;
            var feedAfter = await Task.WhenAll(nodes.Select(n => FeedAsync(n, ct)));
            var feeds = feedAfter.Zip(feedBefore, (a, b) => new NodeFeed(a.Calls - b.Calls, a.Retries - b.Retries, a.Messages - b.Messages)).ToArray();
            var sessions = await haproxy.ServerStatesAsync(ct);
            var refused = 0L;
            foreach (var node in nodes)
            {
                refused += await ServiceMetrics.RefusedMessagesAsync(node, ct);
            }

            var verified = stored == result.ReadingsAcked || (stored > result.ReadingsAcked && stored <= result.ReadingsSent);
            var visible = new Distribution(probe.VisibleAfterMs);
            report.Section($"Campus Telemetry cluster ({Nodes} nodes on this machine, PostgreSQL 15 membership and grain state, HAProxy 2.6 in front)");
            E2eCommand.Describe(report, result);
            report.Row("publish → visible in InfluxDB", visible.Count > 0
                ? $"p50 {visible.Percentile(50):0} ms, p99 {visible.Percentile(99):0} ms, max {visible.Max:0} ms ({visible.Count} markers, {probe.NeverSeen} never seen)"
                : "no markers");
            foreach (var (name, i) in names.Select((n, i) => (n, i)))
            {
                report.Row(i == 0 ? "per node, measured window" : "", $"{name}: {outcome.Cpu.Describe(name, result.MeasuredMessagesAcked)}; " +
                    $"grain feed {Report.Count(feeds[i].Messages)} messages in {Report.Count(feeds[i].Calls)} grain calls ({Report.Count(feeds[i].Retries)} tried again); " +
                    $"peak RSS {ProcessStats.PeakRssBytes(nodes[i].Process.Pid) / 1024.0 / 1024.0:0} MiB; connections at the end {sessions.GetValueOrDefault(name).Sessions}");
            }

            report.Row("", $"all nodes together: {Report.Number(NodesMicroseconds(outcome, names, result))} µs per acknowledged message");
            report.Row("", $"HAProxy {outcome.Cpu.Describe("haproxy", result.MeasuredMessagesAcked)}");
            report.Row("", $"PostgreSQL {outcome.Cpu.Describe(Postgres, result.MeasuredMessagesAcked)}");
            report.Row("", $"InfluxDB {outcome.Cpu.Describe(Influx, result.MeasuredMessagesAcked)}");
            report.Row("", $"load generator {outcome.Cpu.Describe(LoadOutcome.Generator, result.MeasuredMessagesAcked)}");
            report.Row("refused by the nodes", $"{Report.Count(refused)} messages (telemetry_mqtt_messages_refused_total)");
            report.Row("InfluxDB holds", $"{Report.Count(stored)} readings; acknowledged {Report.Count(result.ReadingsAcked)} → {(verified ? "OK" : "MISMATCH")}" +
                $" (all in InfluxDB {Report.Seconds(drainedAfter)} after the load ended)");
            report.Flush();
            return new Outcome(result, verified, outcome, names, feeds);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>The service CPU of all nodes together per acknowledged message in the measured window.</summary>
    public static double NodesMicroseconds(LoadOutcome outcome, IEnumerable<string> names, LoadResult result) =>
        names.Sum(n => outcome.Cpu.MicrosecondsPer(n, result.MeasuredMessagesAcked));

    const string Influx = "InfluxDB";
    const string Postgres = "PostgreSQL";

    static async Task<NodeFeed> FeedAsync(ServiceProcess node, CancellationToken ct)
    {
        var text = await node.Http.GetStringAsync(new Uri(node.HttpUrl, "metrics"), ct);
        return new NodeFeed(
            PrometheusText.Sum(text, "telemetry_grains_feed_calls_total"),
            PrometheusText.Sum(text, "telemetry_grains_feed_call_retries_total"),
            PrometheusText.Sum(text, "telemetry_grains_feed_messages_total"));
    }

    /// <summary>The documented schema step, <c>Telemetry.Service cluster-schema apply</c>, as a process.</summary>
    static async Task ApplySchemaAsync(string connectionString, CancellationToken ct)
    {
        var startInfo = new ProcessStartInfo(ServiceProcess.DotnetHost, [Path.Combine(AppContext.BaseDirectory, "Telemetry.Service.dll"), "cluster-schema", "apply", "--connection-string", connectionString])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"cluster-schema apply exited {process.ExitCode}: {await output}{await error}");
        }
    }
}
