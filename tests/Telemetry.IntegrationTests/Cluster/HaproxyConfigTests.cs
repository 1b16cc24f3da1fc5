using System.Diagnostics;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>
/// <c>deploy/haproxy/haproxy.cfg</c> as HAProxy 2.6 itself reads it (<c>haproxy -c</c>): valid with the documented
/// variables (node names that do not resolve yet included, as containers that start later), refused without them.
/// </summary>
public sealed class HaproxyConfigTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static Dictionary<string, string?> Documented() => new()
    {
        ["HAPROXY_MQTT_BIND"] = "127.0.0.1:1883",
        ["HAPROXY_STATS_BIND"] = "127.0.0.1:8404",
        ["NODE1_MQTT"] = "127.0.0.1:1883",
        ["NODE1_HTTP_PORT"] = "8080",
        ["NODE2_MQTT"] = "localhost:1884",
        ["NODE2_HTTP_PORT"] = "8081",
        ["NODE3_MQTT"] = "telemetry-3.invalid:1883",
        ["NODE3_HTTP_PORT"] = "8080",
    };

    [Fact]
    public async Task The_config_is_valid_with_the_documented_variables()
    {
        var (exit, output) = await CheckAsync(Documented());
        Assert.True(exit == 0, $"haproxy -c exited {exit}: {output}");
    }

    [Fact]
    public async Task Without_the_nodes_addresses_the_config_is_refused()
    {
        var variables = Documented();
        variables["NODE2_MQTT"] = null;
        var (exit, output) = await CheckAsync(variables);
        Assert.NotEqual(0, exit);
        Assert.Contains("'server' expects <name> and <addr>", output, StringComparison.Ordinal);
    }

    static async Task<(int Exit, string Output)> CheckAsync(Dictionary<string, string?> variables)
    {
        ServerProcess.RequireExecutable(HaproxyServer.Executable, "haproxy");
        var startInfo = new ProcessStartInfo(HaproxyServer.Executable, ["-c", "-f", HaproxyServer.ConfigFilePath])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in variables)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(key);
            }
            else
            {
                startInfo.Environment[key] = value;
            }
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var error = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        return (process.ExitCode, await output + await error);
    }
}
