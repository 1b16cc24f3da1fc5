using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Telemetry.DeviceSim.Load;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.Benchmarks;

/// <summary>
/// <c>telemetry-bench connections</c>: how many idle device connections (MQTT keep-alive, nothing published) one
/// service process holds, and the memory each costs. The load generator opens them from several 127.0.0.x source
/// addresses (one address has only ~28,000 ephemeral ports towards one server port).
/// </summary>
static class ConnectionsCommand
{
    static readonly Option<int> Connections = new("--connections") { Description = "Idle connections to open.", DefaultValueFactory = _ => 100_000 };
    static readonly Option<string> Hold = new("--hold") { Description = "How long to hold them once open, e.g. 20s.", DefaultValueFactory = _ => "20s" };
    static readonly Option<int> ConnectRate = new("--connect-rate") { Description = "New connections per second.", DefaultValueFactory = _ => 5000 };

    public static Command Create()
    {
        var command = new Command("connections", "Idle connections one node holds, and the service's memory per connection.")
        {
            Connections, Hold, ConnectRate,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(Connections), parse.GetValue(Hold)!, parse.GetValue(ConnectRate), ct));
        return command;
    }

    static async Task<int> RunAsync(int connections, string hold, int connectRate, CancellationToken ct)
    {
        var limit = FileLimits.Raise((ulong)Math.Max(65_536, (connections * 2) + 10_000));
        var work = Path.Combine(BenchPaths.DefaultDataDirectory(), $"connections-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        var report = new Report(Console.Out);
        report.Title("telemetry-bench connections");
        report.Row("machine", $"{Environment.ProcessorCount} cores, {MachineInfo.Collect(work).Memory}");
        report.Row("open-file limit", limit.ToString(CultureInfo.InvariantCulture));
        report.Row("net.core.somaxconn", File.ReadAllText("/proc/sys/net/core/somaxconn").Trim());
        report.Row("ephemeral ports", File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Trim().Replace('\t', '-'));

        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            await using var service = await ServiceProcess.StartAsync(
                [
                    "--Influx:Api=V1", $"--Influx:Url=http://127.0.0.1:{FreePort.Get()}", // nothing listens there: no InfluxDB needed
                    "--Serilog:MinimumLevel:Default=Warning",
                    // Capacity, not admission, is measured: the load comes from a few loopback addresses at thousands of
                    // connections per second, far above the per-address default meant for devices on a network.
                    "--Broker:MaxNewConnectionsPerSecondPerAddress=1000000", "--Broker:NewConnectionBurstPerAddress=1000000",
                ],
                "health/live", work, ct);
            var http = service.HttpUrl;
            var rssBefore = await ProcessStats.SettledRssAsync(service.Process.Pid, ct);

            var sources = string.Join(',', Enumerable.Range(2, Math.Max(1, (connections + 19_999) / 20_000)).Select(i => $"127.0.0.{i}"));
            long peakConnections = 0, rssAtPeak = rssBefore;
            using var stopSampling = new CancellationTokenSource();
            var sampling = Task.Run(async () =>
            {
                while (!stopSampling.IsCancellationRequested)
                {
                    try
                    {
                        var open = (long)await GaugeAsync(probe, http, "telemetry_mqtt_connections", ct);
                        if (open >= peakConnections)
                        {
                            peakConnections = open;
                            rssAtPeak = ProcessStats.RssBytes(service.Process.Pid);
                        }

                        await Task.Delay(500, stopSampling.Token);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                    }
                }
            }, CancellationToken.None);

            var (_, stdout) = await ChildProcess.RunAsync("device-sim.dll",
            [
                "load", "--idle", "--host", "127.0.0.1", "--port", service.MqttPort.ToString(CultureInfo.InvariantCulture),
                "--connections", connections.ToString(CultureInfo.InvariantCulture), "--duration", hold,
                "--connect-rate", connectRate.ToString(CultureInfo.InvariantCulture), "--source-addresses", sources, "--json",
            ], ct);
            await stopSampling.CancelAsync();
            await sampling;
            var peakRss = ProcessStats.PeakRssBytes(service.Process.Pid);
            var json = stdout.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
            var result = json is null ? null : JsonSerializer.Deserialize<LoadResult>(json, E2eCommand.JsonOptions);

            report.Section($"{Report.Count(connections)} idle connections (keep-alive only), from {sources}");
            report.Row("held at once (service's gauge)", Report.Count(peakConnections));
            if (result is not null)
            {
                report.Row("load generator", $"{Report.Count(result.ConnectionsEstablished)} established in {result.ConnectSeconds:0.0} s, {result.ConnectFailures} connect failures, {result.ConnectionsLost} lost");
            }

            report.Row("service RSS", $"{Mib(rssBefore)} MiB before -> {Mib(rssAtPeak)} MiB with {Report.Count(peakConnections)} open (peak RSS {Mib(peakRss)} MiB)");
            report.Row("per connection", peakConnections > 0 ? $"{(rssAtPeak - rssBefore) / (double)peakConnections:N0} bytes of RSS" : "n/a");
            report.Row("load average after", MachineInfo.LoadAverage());
            report.Flush();
            service.Process.Stop();
            return peakConnections >= connections ? 0 : 2;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    static async Task<double> GaugeAsync(HttpClient http, Uri baseUri, string name, CancellationToken ct) =>
        PrometheusText.Sum(await http.GetStringAsync(new Uri(baseUri, "metrics"), ct), name);

    static string Mib(long bytes) => (bytes / 1024.0 / 1024.0).ToString("N0", CultureInfo.InvariantCulture);
}
