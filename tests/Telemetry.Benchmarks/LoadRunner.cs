using System.Globalization;
using System.Text.Json;
using Telemetry.DeviceSim.Load;

namespace Telemetry.Benchmarks;

/// <summary>What one run of the load generator gave: its result (null when it printed none) and the CPU of every watched process over its measured window.</summary>
sealed record LoadOutcome(int ExitCode, LoadResult? Result, CpuWindow Cpu)
{
    /// <summary>Name under which the load generator's own CPU is recorded.</summary>
    public const string Generator = "load generator";

    public double MicrosecondsPerMessage(string name) => Result is null ? double.NaN : Cpu.MicrosecondsPer(name, Result.MeasuredMessagesAcked);
}

/// <summary>Runs <c>device-sim load</c> (its own process) against a broker and samples the CPU of the given processes, and of the generator, over the measured window.</summary>
static class LoadRunner
{
    public static async Task<LoadOutcome> RunAsync(string host, int port, IEnumerable<string> load, IEnumerable<(string Name, int Pid)> watched, CancellationToken ct)
    {
        var cpu = new CpuWindow();
        foreach (var (name, pid) in watched)
        {
            cpu.Watch(name, pid);
        }

        var (exit, stdout) = await ChildProcess.RunAsync("device-sim.dll",
            ["load", "--host", host, "--port", port.ToString(CultureInfo.InvariantCulture), .. load],
            pid => cpu.Watch(LoadOutcome.Generator, pid), cpu.OnGeneratorLine, ct);
        return new LoadOutcome(exit, Parse(stdout), cpu);
    }

    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    static LoadResult? Parse(string stdout)
    {
        var json = stdout.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
        return json is null ? null : JsonSerializer.Deserialize<LoadResult>(json, JsonOptions);
    }
}
