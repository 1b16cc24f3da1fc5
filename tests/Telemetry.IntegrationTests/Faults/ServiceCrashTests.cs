using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>The service process is SIGKILLed under load and started again on the same spool.</summary>
public sealed class ServiceCrashTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Killed_under_load_with_a_backlog_and_restarted_on_the_same_spool_loses_nothing()
    {
        await using var influx = await InfluxDbServer.StartAsync(Ct);
        await influx.CreateDatabaseAsync("campus", Ct);
        await using var service = await ServiceProcess.StartAsync(
            ["--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus", "--Influx:Timeout=00:00:02", "--Writer:MaxRetryDelay=00:00:01"], Ct);
        var runId = $"kill-{Guid.NewGuid():N}"[..13];
        await using var load = SteadyLoad.Start(() => service.MqttPort, runId, deviceCount: 10, interval: TimeSpan.FromMilliseconds(20),
            ackTimeout: TimeSpan.FromSeconds(10));
        await load.WaitForMoreAcksAsync(300, TimeSpan.FromSeconds(60), Ct);

        // Leave a backlog in the spool: InfluxDB is away while the service dies.
        influx.Process.Stop();
        await load.WaitForMoreAcksAsync(500, TimeSpan.FromSeconds(30), Ct);
        service.Process.Kill();
        var ackedBeforeKill = load.Acknowledged;

        await service.Process.StartAsync(Ct);
        await influx.Process.StartAsync(Ct);
        await load.WaitForMoreAcksAsync(300, TimeSpan.FromSeconds(60), Ct);
        await load.StopAsync();

        Assert.True(load.Reconnects > 10, $"devices reconnected only {load.Reconnects} times");
        Assert.True(ackedBeforeKill >= 800);
        await Stored.AssertEveryAcknowledgedReadingStoredOnceAsync(influx, runId, load, TimeSpan.FromSeconds(60), Ct);
        var log = await File.ReadAllTextAsync(service.Process.LogPath, Ct);
        Assert.Contains("from before the restart are sent to InfluxDB first", log, StringComparison.Ordinal);
    }
}
