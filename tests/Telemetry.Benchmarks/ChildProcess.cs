using System.Diagnostics;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.Benchmarks;

/// <summary>Runs <c>dotnet some.dll args</c> from this program's output folder and collects its stdout; stderr goes to ours (progress lines).</summary>
static class ChildProcess
{
    public static string Dotnet => ServiceProcess.DotnetHost;

    public static string Dll(string name) => Path.Combine(AppContext.BaseDirectory, name);

    public static Task<(int ExitCode, string Stdout)> RunAsync(string dll, IEnumerable<string> args, CancellationToken ct) =>
        RunAsync(dll, args, started: null, stderrLine: null, ct);

    /// <summary>
    /// As the other overload; <paramref name="started"/> is given the process id once it runs, and
    /// <paramref name="stderrLine"/> every line of its stderr as it arrives (after it is echoed).
    /// </summary>
    public static async Task<(int ExitCode, string Stdout)> RunAsync(string dll, IEnumerable<string> args, Action<int>? started, Action<string>? stderrLine, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll(dll));
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {dll}");
        started?.Invoke(process.Id);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                Console.Error.WriteLine($"    {line}");
                stderrLine?.Invoke(line);
            }
        };
        process.BeginErrorReadLine();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout);
    }
}
