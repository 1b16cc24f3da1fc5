using System.Diagnostics;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>The service's own commands and nodes of a cluster, as processes, for the cluster tests.</summary>
public static class ClusterProcesses
{
    /// <summary>Runs <c>Telemetry.Service cluster-schema apply</c> against <paramref name="connectionString"/>; fails the test unless it exits 0.</summary>
    public static async Task<string> ApplySchemaAsync(string connectionString, CancellationToken ct)
    {
        var (exit, output) = await RunServiceCommandAsync(["cluster-schema", "apply", "--connection-string", connectionString], environment: null, ct);
        Assert.True(exit == 0, $"cluster-schema apply exited {exit}: {output}");
        return output;
    }

    /// <summary>Runs the service's executable with <paramref name="arguments"/> (a command, not the service) and returns its exit code and output.</summary>
    public static async Task<(int Exit, string Output)> RunServiceCommandAsync(IEnumerable<string> arguments, Dictionary<string, string?>? environment, CancellationToken ct)
    {
        var startInfo = new ProcessStartInfo(ServiceProcess.DotnetHost, [Path.Combine(AppContext.BaseDirectory, "Telemetry.Service.dll"), .. arguments])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment ?? [])
        {
            startInfo.Environment[key] = value;
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, (await output) + (await error));
    }

    /// <summary>The settings that make a service process a node of the cluster in <paramref name="connectionString"/>'s database.</summary>
    public static string[] NodeSettings(string connectionString, string clusterId, string nodeName) =>
    [
        "--Orleans:Clustering=AdoNet",
        $"--Orleans:ConnectionString={connectionString}",
        $"--Orleans:ClusterId={clusterId}",
        $"--Orleans:NodeName={nodeName}",
    ];
}
