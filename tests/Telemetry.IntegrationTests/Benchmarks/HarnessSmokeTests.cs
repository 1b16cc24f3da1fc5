using System.Diagnostics;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Benchmarks;

/// <summary>
/// Short runs of the benchmark harness (docs/benchmarks.md), so that it cannot rot. Nothing here is timed: the runs
/// must finish and report what they measure, with the stored-equals-acknowledged check passing.
/// </summary>
public sealed class HarnessSmokeTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_end_to_end_benchmark_runs_against_the_service_and_mosquitto()
    {
        var (exit, output) = await BenchAsync(["e2e", "--quick"]);
        Assert.True(exit == 0, output);
        Assert.Contains("Campus Telemetry", output, StringComparison.Ordinal);
        Assert.Contains("→ OK", output, StringComparison.Ordinal);
        Assert.Contains("mosquitto 2.0", output, StringComparison.Ordinal);
        Assert.Contains("acknowledged msg/s", output, StringComparison.Ordinal);
        Assert.Contains("publish → visible in InfluxDB", output, StringComparison.Ordinal);
        Assert.Contains("CPU per acknowledged message, measured window", output, StringComparison.Ordinal);
        Assert.Matches(@"refused by the service\s+0 messages", output);
        Assert.DoesNotContain("the measured window's edges were not seen", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_scaling_benchmark_runs_its_connection_and_sensor_steps()
    {
        var (exit, output) = await BenchAsync(["scaling", "--quick"]);
        Assert.True(exit == 0, output);
        Assert.Contains("per 1,000 msg/s", output, StringComparison.Ordinal);
        Assert.Contains("Δpeak per added sensor", output, StringComparison.Ordinal);
        Assert.DoesNotContain("without a result", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_spool_benchmark_runs_and_verifies_its_drain()
    {
        var (exit, output) = await BenchAsync(["spool", "--quick"]);
        Assert.True(exit == 0, output);
        Assert.Contains("OK", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_report_benchmark_computes_the_demo_campus_day()
    {
        var (exit, output) = await BenchAsync(["reports", "--iterations", "1"]);
        Assert.True(exit == 0, output);
        Assert.Contains("× baseline", output, StringComparison.Ordinal);
        Assert.Matches(@"figures per campus day\s+[1-9]", output);
    }

    [Fact]
    public async Task The_connection_and_grain_probes_run()
    {
        var (exit, output) = await BenchAsync(["connections", "--connections", "300", "--hold", "2s"]);
        Assert.True(exit == 0, output);
        Assert.Contains("per connection", output, StringComparison.Ordinal);

        (exit, output) = await BenchAsync(["grains", "--grains", "2000"]);
        Assert.True(exit == 0, output);
        Assert.Contains("per grain", output, StringComparison.Ordinal);
    }

    /// <summary>The harness as built next to this test project (same configuration), run as its own process.</summary>
    static async Task<(int ExitCode, string Output)> BenchAsync(string[] args)
    {
        var bench = Path.GetFullPath(AppContext.BaseDirectory.Replace(
            $"{Path.DirectorySeparatorChar}Telemetry.IntegrationTests{Path.DirectorySeparatorChar}",
            $"{Path.DirectorySeparatorChar}Telemetry.Benchmarks{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        var dll = Path.Combine(bench, "telemetry-bench.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution first (./test.sh does)");
        var psi = new ProcessStartInfo(ServiceProcess.DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start telemetry-bench");
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
