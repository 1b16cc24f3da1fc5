using System.Globalization;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>InfluxDB goes away under steady load; devices keep being acknowledged from the spool and nothing acknowledged is lost.</summary>
public sealed class InfluxOutageTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The outage of the stop test; 60 s unless TELEMETRY_FAULT_OUTAGE_SECONDS says otherwise.</summary>
    static TimeSpan Outage => TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("TELEMETRY_FAULT_OUTAGE_SECONDS"),
        NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? seconds : 60);

    [Fact]
    public async Task InfluxDB_stopped_for_a_minute_under_load_then_restarted_loses_nothing()
    {
        await using var rig = await FaultRig.StartAsync([], Ct);
        var runId = $"stop-{Guid.NewGuid():N}"[..13];
        await using var load = SteadyLoad.Start(() => rig.Service.MqttPort, runId, deviceCount: 10, interval: TimeSpan.FromMilliseconds(50));
        await load.WaitForMoreAcksAsync(200, TimeSpan.FromSeconds(30), Ct);

        rig.Influx.Process.Stop();
        var outageStarted = DateTime.UtcNow;
        await load.WaitForMoreAcksAsync(500, TimeSpan.FromSeconds(30), Ct); // still acknowledged: the spool holds them

        await Poll.UntilAsync("the backlog to show in /health/ready", () => rig.SpoolHealthAsync(Ct), h => h.PendingLines > 0, cancellationToken: Ct);
        var remaining = Outage - (DateTime.UtcNow - outageStarted);
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining, Ct); // the outage itself: a fault held for a fixed time, not a synchronisation
        }

        var ackedDuringOutage = load.Acknowledged;
        Assert.True(await Stored.MetricAsync(rig.Service.Http, "telemetry_influx_write_retries_total", Ct) > 0);

        await rig.Influx.Process.StartAsync(Ct);
        await load.WaitForMoreAcksAsync(200, TimeSpan.FromSeconds(30), Ct);
        await load.StopAsync();

        Assert.True(ackedDuringOutage > 1000, $"only {ackedDuringOutage} readings were acknowledged by the end of the outage");
        await Stored.AssertEveryAcknowledgedReadingStoredOnceAsync(rig.Influx, runId, load, TimeSpan.FromSeconds(60), Ct);
        await Poll.UntilAsync("an empty spool in /health/ready", () => rig.SpoolHealthAsync(Ct), h => h.PendingLines == 0, cancellationToken: Ct);
    }

    [Fact]
    public async Task InfluxDB_frozen_under_load_then_resumed_loses_nothing()
    {
        await using var rig = await FaultRig.StartAsync([], Ct);
        var runId = $"frz-{Guid.NewGuid():N}"[..12];
        await using var load = SteadyLoad.Start(() => rig.Service.MqttPort, runId, deviceCount: 10, interval: TimeSpan.FromMilliseconds(50));
        await load.WaitForMoreAcksAsync(200, TimeSpan.FromSeconds(30), Ct);

        rig.Influx.Process.Freeze();
        try
        {
            // Writes hang (TCP accepts, nothing answers) and time out; devices are still acknowledged from the spool.
            await load.WaitForMoreAcksAsync(1000, TimeSpan.FromSeconds(60), Ct);
            await Poll.UntilAsync("the backlog to show in /health/ready", () => rig.SpoolHealthAsync(Ct), h => h.PendingLines > 0, cancellationToken: Ct);
        }
        finally
        {
            rig.Influx.Process.Thaw();
        }

        await load.WaitForMoreAcksAsync(200, TimeSpan.FromSeconds(30), Ct);
        await load.StopAsync();
        await Stored.AssertEveryAcknowledgedReadingStoredOnceAsync(rig.Influx, runId, load, TimeSpan.FromSeconds(60), Ct);
    }
}
