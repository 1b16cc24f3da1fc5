using System.Diagnostics;
using System.Net;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>
/// The StatefulSet's readiness probe (a shell script around <c>/health/ready</c>, deploy/k8s/statefulset.yaml) run as
/// the kubelet runs it, against the real service: a node whose InfluxDB does not answer still takes devices (its
/// readings wait in the spool), so it stays in the MQTT load balancer; a node that does not answer does not.
/// </summary>
public sealed class KubernetesReadinessProbeTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    readonly string script = KubernetesManifestTests.ReadinessScript(KubernetesManifests.Load());

    [Fact]
    public async Task ANodeWhoseInfluxDbIsDown_StaysReady_AndANodeThatDoesNotAnswerIsNot()
    {
        // InfluxDB at a port where nothing listens: /health/ready answers 503 for the influxdb check alone.
        var nowhere = $"http://127.0.0.1:{FreePort.Get()}";
        await using var service = await ServiceProcess.StartAsync([$"--Influx:Url={nowhere}", "--Influx:Api=V1", "--Influx:Database=campus"], Ct);
        var body = await Poll.UntilAsync(
            "/health/ready answering 503 because of InfluxDB alone, with the silo active",
            async () =>
            {
                using var response = await service.Http.GetAsync(new Uri("health/ready", UriKind.Relative), Ct);
                return (response.StatusCode, Body: await response.Content.ReadAsStringAsync(Ct));
            },
            r => r.StatusCode == HttpStatusCode.ServiceUnavailable && r.Body.Contains("silo active", StringComparison.Ordinal),
            within: TimeSpan.FromSeconds(60),
            show: r => $"{(int)r.StatusCode} {r.Body}",
            cancellationToken: Ct);
        Assert.Contains("does not answer its ping", body.Body, StringComparison.Ordinal);

        var ready = await RunProbeAsync(service.HttpUrl);
        Assert.True(ready.ExitCode == 0, $"the probe took the node out while only InfluxDB was down (exit {ready.ExitCode}): {ready.Output}");

        var silent = await RunProbeAsync(new Uri($"http://127.0.0.1:{FreePort.Get()}/"));
        Assert.NotEqual(0, silent.ExitCode);
    }

    /// <summary>Runs the probe with <c>/bin/sh -c</c>, pointed at <paramref name="url"/> instead of the pod's port 8080.</summary>
    async Task<(int ExitCode, string Output)> RunProbeAsync(Uri url)
    {
        var pointed = script.Replace("http://127.0.0.1:8080/", url.ToString(), StringComparison.Ordinal);
        Assert.NotEqual(script, pointed);
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(pointed);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("/bin/sh did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
