using System.Diagnostics;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.Benchmarks;

/// <summary>Runs <c>dotnet some.dll args</c> from this program's output folder and collects its stdout; stderr goes to ours (progress lines).</summary>
static class ChildProcess
{
    public static string Dotnet => ServiceProcess.DotnetHost;

    public static string Dll(string name) => Path.Combine(AppContext.BaseDirectory, name);

    public static async Task<(int ExitCode, string Stdout)> RunAsync(string dll, IEnumerable<string> args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll(dll));
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {dll}");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                Console.Error.WriteLine($"    {line}");
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
