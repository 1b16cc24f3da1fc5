using System.CommandLine;
using System.Diagnostics;
using Telemetry.Contracts;
using Telemetry.IntegrationTests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using Telemetry.Service.Hosting;

namespace Telemetry.Benchmarks;

/// <summary>
/// <c>telemetry-bench grains</c>: activates N sensor grains in the real service (hosted in this process), each with one
/// reading, and reports the time to activate them and the memory each active, idle grain costs.
/// Readings go through the grain into the spool as in production; InfluxDB is left unreachable so that the drain
/// does not compete for the cores (the spool keeps the readings).
/// </summary>
static class GrainsCommand
{
    static readonly Option<int> Grains = new("--grains")
    {
        Description = "Sensor grains to activate, one reading each.",
        DefaultValueFactory = _ => 100_000,
    };

    static readonly Option<int> Concurrency = new("--concurrency")
    {
        Description = "Grain calls in flight at once.",
        DefaultValueFactory = _ => 512,
    };

    static readonly Option<string?> Dir = new("--dir")
    {
        Description = "Where the spool goes (a fresh subfolder, deleted at the end). [default: <repo>/.data/bench]",
    };

    public static Command Create()
    {
        var command = new Command("grains",
            "Activates sensor grains (one reading each) in the real service and reports activation time and memory per grain.")
        {
            Grains, Concurrency, Dir,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(Grains), parse.GetValue(Concurrency), parse.GetValue(Dir), ct));
        return command;
    }

    static async Task<int> RunAsync(int grains, int concurrency, string? dir, CancellationToken ct)
    {
        var root = dir ?? BenchPaths.DefaultDataDirectory();
        var run = Path.Combine(root, $"grains-{Guid.NewGuid():N}");
        var spool = Path.Combine(run, "spool");
        Directory.CreateDirectory(spool);
        var report = new Report(Console.Out);
        report.Title("telemetry-bench grains");
        report.Row("machine", $"{Environment.ProcessorCount} cores, {MachineInfo.Collect(spool).Memory}, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
        report.Row("load average before", MachineInfo.LoadAverage());

        var ports = FreePort.GetMany(5);
        var app = TelemetryApp.Build(
        [
            $"--Urls=http://127.0.0.1:{ports[0]}",
            $"--Broker:Port={ports[1]}",
            $"--Orleans:SiloPort={ports[2]}",
            $"--Orleans:GatewayPort={ports[3]}",
            $"--Spool:Path={spool}",
            // Grain state of this run only: sensor grains persist, and a state left by an earlier run would be taken up.
            $"--Campus:StatePath={Path.Combine(run, "state")}",
            "--Spool:MaxBytes=4294967296",
            "--Influx:Api=V1",
            $"--Influx:Url=http://127.0.0.1:{ports[4]}", // nothing listens there: the readings stay in the spool
            "--Serilog:MinimumLevel:Default=Error",
            "--Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime=Error",
        ]);
        try
        {
            await app.StartAsync(ct);
            var factory = app.Services.GetRequiredService<IGrainFactory>();

            // Warm up code paths (JIT, Orleans' first activations) so that they do not count as per-grain memory.
            await ActivateAsync(factory, "warmup", 2_000, concurrency, report: null, ct);
            var (heapBefore, rssBefore) = Memory();

            var clock = Stopwatch.StartNew();
            await ActivateAsync(factory, "g", grains, concurrency, report, ct);
            var elapsed = clock.Elapsed;
            var (heapAfter, rssAfter) = Memory();

            // A sample of grains answers from memory: they are still active with their reading.
            var sample = await factory.GetGrain<ISensorGrain>($"g{grains / 2}").GetSnapshot();

            report.Section($"{Report.Count(grains)} sensor grains, one reading each");
            report.Row("time to activate", $"{Report.Seconds(elapsed)} ({Report.Count(grains / elapsed.TotalSeconds)} grains/s, {concurrency} calls in flight)");
            report.Row("managed heap", $"{Mb(heapBefore)} -> {Mb(heapAfter)} MiB");
            report.Row("process RSS", $"{Mb(rssBefore)} -> {Mb(rssAfter)} MiB");
            report.Row("per grain (managed heap)", $"{(heapAfter - heapBefore) / (double)grains:N0} bytes");
            report.Row("per grain (RSS)", $"{(rssAfter - rssBefore) / (double)grains:N0} bytes");
            report.Row("sample grain answers", sample is { ReadingsTotal: 1 } ? "yes (1 reading kept)" : "NO");
            report.Row("load average after", MachineInfo.LoadAverage());
            report.Flush();
            return sample is { ReadingsTotal: 1 } ? 0 : 2;
        }
        finally
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await app.StopAsync(stop.Token);
            await app.DisposeAsync();
            Directory.Delete(run, recursive: true);
        }
    }

    static async Task ActivateAsync(IGrainFactory factory, string prefix, int count, int concurrency, Report? report, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var progress = Stopwatch.StartNew();
        var done = 0;
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (i, _) =>
        {
            var address = new SensorAddress($"b{i % 10}", $"r{i % 1000}", $"{prefix}{i}");
            await factory.GetGrain<ISensorGrain>(address.Sensor)
                .IngestBatch(new FeedBatch("grains-benchmark", [new FedMessage(1, i + 1, new TelemetryMessage(address, [new Reading(now, [new Metric("temperature", 21.5)])], now))]));
            if (Interlocked.Increment(ref done) % 100_000 == 0 && report is not null)
            {
                await Console.Error.WriteLineAsync($"  {done:N0} grains active after {progress.Elapsed.TotalSeconds:0.0} s");
            }
        });
    }

    static (long Heap, long Rss) Memory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        using var self = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: false), self.WorkingSet64);
    }

    static string Mb(long bytes) => (bytes / 1024.0 / 1024.0).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
}
