using System.Diagnostics;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Tests.Polling;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>The service's own commands and nodes of a cluster, as processes, for the cluster tests.</summary>
public static class ClusterProcesses
{
    /// <summary>A fresh database named <paramref name="prefix"/> and a random suffix with Orleans' schema applied (by the documented step); the database name doubles as the cluster id.</summary>
    public static async Task<(string Database, string ConnectionString)> NewClusterDatabaseAsync(PostgresServer postgres, string prefix, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(postgres);
        var database = $"{prefix}_{Guid.NewGuid():N}";
        var connectionString = await postgres.CreateDatabaseAsync(database, ct);
        await ApplySchemaAsync(connectionString, ct);
        return (database, connectionString);
    }

    /// <summary>Polls Orleans' membership table until exactly <paramref name="nodes"/> silos are active.</summary>
    public static Task WaitForActiveNodesAsync(PostgresServer postgres, string database, int nodes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(postgres);
        var expected = nodes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Poll.UntilAsync(
            $"{nodes} nodes active in Orleans' membership table",
            () => postgres.QueryAsync(database, "SELECT count(*) FROM orleansmembershiptable WHERE status = 3", ct),
            active => active.Count == 1 && active[0] == expected,
            within: TimeSpan.FromSeconds(60),
            show: active => string.Join(",", active),
            cancellationToken: ct);
    }

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
