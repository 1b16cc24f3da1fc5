using System.Diagnostics;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>
/// <c>deploy/alertmanager/alertmanager.yml</c>, the example route of docs/alertmanager.md, as Alertmanager 0.25's own
/// <c>amtool</c> reads it (strictly: an unknown key fails): valid as shipped and with its commented production
/// receivers (e-mail, chat, pager) switched on, and routing critical alerts to the on-call technician and facilities.
/// </summary>
public sealed class AlertmanagerConfigTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_example_route_passes_amtool_check_config()
    {
        var (exit, output) = await AmtoolAsync("check-config", AlertmanagerServer.ExampleConfigPath);

        Assert.True(exit == 0, $"amtool check-config exited {exit}: {output}");
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
        Assert.Contains("2 receivers", output, StringComparison.Ordinal);
        Assert.Contains("1 inhibit rules", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_commented_production_receivers_pass_amtool_check_config_when_switched_on()
    {
        var example = await File.ReadAllLinesAsync(AlertmanagerServer.ExampleConfigPath, Ct);
        var production = example.Select(l => l.StartsWith("#> ", StringComparison.Ordinal) ? l[3..] : l).ToList();
        Assert.True(production.Count(l => l.Contains("_configs:", StringComparison.Ordinal)) >= 5, "the example has e-mail, chat and pager receivers besides the webhooks");
        var path = Path.Combine(Directory.CreateTempSubdirectory("telemetry-it-amtool-").FullName, "alertmanager.yml");
        try
        {
            await File.WriteAllLinesAsync(path, production, Ct);

            var (exit, output) = await AmtoolAsync("check-config", path);

            Assert.True(exit == 0, $"amtool check-config exited {exit} on the production variant: {output}");
            Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
        }
        finally
        {
            TestServer.DeleteDirectory(Path.GetDirectoryName(path)!);
        }
    }

    [Theory]
    [InlineData("critical", "oncall-technician,facilities")]
    [InlineData("warning", "facilities")]
    [InlineData("info", "facilities")]
    public async Task The_example_route_sends_each_severity_to_its_receivers(string severity, string receivers)
    {
        var (exit, output) = await AmtoolAsync(
            "config", "routes", "test", $"--config.file={AlertmanagerServer.ExampleConfigPath}",
            "campus=north", "building=b12", "room=r101", "sensor=freezer-1", "rule=too-warm", "alertname=too-warm", $"severity={severity}");

        Assert.True(exit == 0, $"amtool config routes test exited {exit}: {output}");
        Assert.Equal(receivers, output.Split('\n', StringSplitOptions.TrimEntries).First(l => l.Length > 0 && !l.StartsWith("Warning:", StringComparison.Ordinal)));
    }

    static async Task<(int Exit, string Output)> AmtoolAsync(params string[] arguments)
    {
        ServerProcess.RequireExecutable(AlertmanagerServer.AmtoolExecutable, AlertmanagerServer.Package);
        var startInfo = new ProcessStartInfo(AlertmanagerServer.AmtoolExecutable, arguments)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var error = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        return (process.ExitCode, await output + await error);
    }
}
