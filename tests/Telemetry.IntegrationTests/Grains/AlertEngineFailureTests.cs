using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Grains.Alerts;
using Telemetry.Grains.Persistence;
using Telemetry.Grains.Sensors;
using Telemetry.Storage.Schema;
using static Telemetry.IntegrationTests.Grains.GrainTestCampus;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>An alert engine that cannot be built as configured costs no raw data.</summary>
[Collection(GrainClusterFixture.CollectionName)]
public sealed class AlertEngineFailureTests(GrainClusterFixture fixture)
{
    [Fact]
    public async Task Saved_alert_state_that_does_not_restore_leaves_ingestion_working_and_is_reported()
    {
        var sensor = fixture.Grains.GetGrain<ISensorGrain>(FreezerForeignState);

        // Whatever activation exists (the campus starts every sensor) goes first, so the next one reads the file below.
        await fixture.Cluster.DeactivateAsync(sensor);
        await fixture.Cluster.WaitForDeactivationAsync(sensor);

        // An alert the lost state had open, as the alert index still lists it.
        var lostId = $"{FreezerForeignState}/{FreezerFaultRule}/1";
        var index = fixture.Grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key);
        await index.Record(new AlertStep(AlertEvent.Raised, 1, new AlertInfo(lostId, "b", "r", FreezerForeignState, FreezerFaultRule,
            AlertRuleType.FaultCode, AlertSeverity.Critical, AlertState.Active, 1, 3, "fault 3", null, null, null, null, null, false)));

        // State the engine refuses to restore: it belongs to another sensor (a file restored under the wrong name).
        var foreign = new AlertEngineState("someone-else", 0, null, null, 0, new Dictionary<string, long>(), [], []);
        await new DurableFileGrainStorage(fixture.StateDirectory, NullLogger<DurableFileGrainStorage>.Instance)
            .WriteStateAsync("sensor", GrainId.Create("sensor", FreezerForeignState), new GrainState<SensorGrainState>(new SensorGrainState { Alerts = foreign }));

        var address = Messages.Address(FreezerForeignState);
        var window = Messages.MinuteBase();
        await fixture.Grains.IngestAsync(address, window + 10_000, ("temperature", -20));
        await fixture.Grains.IngestAsync(address, window + 70_000, ("temperature", -21), ("fault", 4));

        Assert.Equal(2, (await sensor.GetSnapshot())?.MessagesTotal);
        Assert.Single(fixture.Writer.Points(SeriesLines.Rollup, ("sensor", FreezerForeignState), ("metric", "temperature")));
        var problem = Assert.Single(fixture.AlertEngineProblems.Current, p => p.SensorId == FreezerForeignState);
        Assert.Equal("saved state", problem.Culprit);
        Assert.Contains("someone-else", problem.Error, StringComparison.Ordinal);

        // The engine started afresh: its rules still raise.
        var raised = Assert.Single(await sensor.GetAlerts());
        Assert.Equal(FreezerFaultRule, raised.Rule);

        // The alert the lost state had open is cleared as "state lost" everywhere, not left active for ever.
        var active = await index.GetActive();
        Assert.DoesNotContain(active, a => a.Id == lostId);
        Assert.Contains(active, a => a.Id == raised.Id);
        var cleared = Assert.Single(fixture.Notifier.For(FreezerForeignState), s => s.Alert.Id == lostId);
        Assert.Equal((AlertEvent.Cleared, AlertState.Cleared, "state lost"), (cleared.Event, cleared.Alert.State, cleared.Alert.ClearedBy));
        Assert.Equal("state lost", Assert.Single(await index.GetRecent(1000), a => a.Id == lostId).ClearedBy);
        Assert.Single(fixture.Writer.Points(SeriesLines.Alerts, ("sensor", FreezerForeignState), ("event", "cleared")),
            p => p.Fields["alert_id"] == lostId);
    }
}
