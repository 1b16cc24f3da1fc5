using System.Diagnostics;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>device-sim, run as a process: a password on its command line is refused, saying why and what to use instead.</summary>
public sealed class DeviceSimPasswordTests
{
    [Theory]
    [InlineData("run")]
    [InlineData("load")]
    public async Task A_password_on_the_command_line_is_refused_with_the_reason(string command)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "device-sim.dll"), command, "--host", "127.0.0.1", "--port", "1", "--username", "u", "--password", "hunter2" })
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start device-sim");
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;

        Assert.True(process.ExitCode == 1, $"device-sim {command} exited {process.ExitCode}: {output}");
        Assert.Contains("--password is not accepted", output, StringComparison.Ordinal);
        Assert.Contains("--password-file", output, StringComparison.Ordinal);
    }
}
