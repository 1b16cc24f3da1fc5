namespace Telemetry.IntegrationTests.Faults;

/// <summary>When the spool reaches its limit, devices get no PUBACK until space frees; nothing acknowledged is lost.</summary>
public sealed class SpoolFullTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_full_spool_withholds_acknowledgements_until_InfluxDB_drains_it()
    {
        await using var rig = await FaultRig.StartAsync(["--Spool:MaxBytes=65536", "--Spool:SegmentBytes=16384", "--Spool:FullWaitTimeout=00:00:20"], Ct);
        var runId = $"full-{Guid.NewGuid():N}"[..13];
        await using var load = SteadyLoad.Start(() => rig.Service.MqttPort, runId, deviceCount: 5, interval: TimeSpan.FromMilliseconds(10));
        await load.WaitForMoreAcksAsync(100, TimeSpan.FromSeconds(30), Ct);

        rig.Influx.Process.Stop();
        await Poll.UntilAsync("the spool to fill up while InfluxDB is stopped", () => rig.SpoolHealthAsync(Ct), h => h.Full, TimeSpan.FromSeconds(30), cancellationToken: Ct);

        // Full: acknowledgements stop (devices wait for their PUBACK).
        var stalledAt = load.Acknowledged;
        await Poll.ThroughoutAsync("the spool to stay full", () => rig.SpoolHealthAsync(Ct), h => h.Full, TimeSpan.FromSeconds(2), cancellationToken: Ct);
        Assert.True(load.Acknowledged - stalledAt <= 5, $"{load.Acknowledged - stalledAt} readings were acknowledged while the spool was full");
        Assert.True(await Stored.MetricAsync(rig.Service.Http, "telemetry_spool_full_waits_total", Ct) > 0);

        await rig.Influx.Process.StartAsync(Ct);
        await load.WaitForMoreAcksAsync(200, TimeSpan.FromSeconds(30), Ct);
        await load.StopAsync();
        await Stored.AssertEveryAcknowledgedReadingStoredOnceAsync(rig.Influx, runId, load, TimeSpan.FromSeconds(60), Ct);
    }
}
