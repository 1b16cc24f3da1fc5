using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Contracts;
using Telemetry.Domain.Rollups;
using Telemetry.Grains.Alerts;
using Telemetry.Grains.Persistence;
using Telemetry.Grains.Sensors;
using Telemetry.Storage.Schema;
using static Telemetry.IntegrationTests.Grains.GrainTestCampus;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>Alert state in the durable file storage: it survives a grain's deactivation and a silo restart.</summary>
[Collection(GrainClusterFixture.CollectionName)]
public sealed class GrainPersistenceTests(GrainClusterFixture fixture)
{
    [Fact]
    public async Task Open_alert_survives_deactivation_of_the_sensor_grain()
    {
        var address = Messages.Address(FreezerDeactivate);
        var sensor = fixture.Grains.GetGrain<ISensorGrain>(FreezerDeactivate);
        var t0 = Messages.NowMs;
        await fixture.Grains.IngestAsync(address, t0, ("fault", 6));
        var alertId = Assert.Single(fixture.Notifier.For(FreezerDeactivate)).Alert.Id;
        Assert.NotNull(await sensor.GetSnapshot());

        await fixture.Cluster.DeactivateAsync(sensor);
        await fixture.Cluster.WaitForDeactivationAsync(sensor);

        // A new activation: the last reading (kept in memory only) is gone, the alert is not.
        Assert.Null(await sensor.GetSnapshot());
        var restored = Assert.Single(await sensor.GetAlerts());
        Assert.Equal(alertId, restored.Id);
        Assert.Equal(AlertState.Active, restored.State);
        Assert.Equal(6, restored.Value);

        // And it carries on from there: the fault ending clears that very alert.
        await fixture.Grains.IngestAsync(address, t0 + 1_000, ("fault", 0));
        var steps = fixture.Notifier.For(FreezerDeactivate);
        Assert.Equal([AlertEvent.Raised, AlertEvent.Cleared], steps.Select(s => s.Event));
        Assert.Equal(alertId, steps[1].Alert.Id);
        Assert.DoesNotContain(await fixture.Grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).GetActive(), a => a.Id == alertId);
    }

    [Fact]
    public async Task Alert_index_and_sensor_alerts_survive_a_silo_restart()
    {
        var address = Messages.Address(FreezerRestart);
        var t0 = Messages.NowMs;
        await fixture.Grains.IngestAsync(address, t0, ("fault", 8));
        var alertId = Assert.Single(fixture.Notifier.For(FreezerRestart)).Alert.Id;
        var ack = await fixture.Grains.GetGrain<ISensorGrain>(FreezerRestart).Acknowledge(alertId, "carol", "ordered a part");
        Assert.True(ack.Succeeded, ack.Error);

        await fixture.RestartSiloAsync();

        var active = await fixture.Grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).GetActive();
        var indexed = Assert.Single(active, a => a.Id == alertId);
        Assert.Equal(AlertState.Acknowledged, indexed.State);
        Assert.Equal("carol", indexed.AcknowledgedBy);
        var sensor = fixture.Grains.GetGrain<ISensorGrain>(FreezerRestart);
        Assert.Null(await sensor.GetSnapshot());
        var restored = Assert.Single(await sensor.GetAlerts());
        Assert.Equal(alertId, restored.Id);
        Assert.Equal(AlertState.Acknowledged, restored.State);
        Assert.Equal("carol", restored.AcknowledgedBy);

        await fixture.Grains.IngestAsync(address, t0 + 1_000, ("fault", 0));
        Assert.Contains(fixture.Notifier.For(FreezerRestart), s => s.Event == AlertEvent.Cleared && s.Alert.Id == alertId);
        Assert.DoesNotContain(await fixture.Grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).GetActive(), a => a.Id == alertId);
    }

    [Fact]
    public async Task Roll_up_window_restored_after_a_crash_is_written_even_if_the_sensor_stays_silent()
    {
        var sensor = fixture.Grains.GetGrain<ISensorGrain>(FreezerCrash);

        // Whatever activation exists (the campus starts every sensor) goes first, so the next one reads the file below.
        await fixture.Cluster.DeactivateAsync(sensor);
        await fixture.Cluster.WaitForDeactivationAsync(sensor);

        // The state a crash leaves behind: a window in progress, persisted, not yet written.
        var window = Messages.MinuteBase();
        var windows = new RollupWindows(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10));
        var emitted = new List<RollupPoint>();
        windows.Add(window + 10_000, [new Metric("temperature", -18)], emitted);
        windows.Add(window + 20_000, [new Metric("temperature", -19)], emitted);
        Assert.Empty(emitted);
        var saved = new SensorGrainState { Rollups = windows.ToState(), LastSeenMs = window + 20_000, MessagesTotal = 2, ReadingsTotal = 2 };
        await new DurableFileGrainStorage(fixture.StateDirectory, NullLogger<DurableFileGrainStorage>.Instance)
            .WriteStateAsync("sensor", GrainId.Create("sensor", FreezerCrash), new GrainState<SensorGrainState>(saved));

        await sensor.Start();
        await fixture.Cluster.DeactivateAsync(sensor);
        await fixture.Cluster.WaitForDeactivationAsync(sensor);

        var line = Assert.Single(fixture.Writer.Points(SeriesLines.Rollup, ("sensor", FreezerCrash), ("metric", "temperature")));
        Assert.Equal(window, line.TimestampMs);
        Assert.Equal(BuildingId, line.Tag("building"));
        Assert.Equal(LabId, line.Tag("room"));
        Assert.Equal("freezer", line.Tag("kind"));
        Assert.Equal(-19, line.Number("min"));
        Assert.Equal(-18, line.Number("max"));
        Assert.Equal(2, line.Number("count"));
        Assert.Equal(-19, line.Number("last"));
    }
}
