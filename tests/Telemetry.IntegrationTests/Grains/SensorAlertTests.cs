using Telemetry.Contracts;
using Telemetry.Grains.Alerts;
using Telemetry.Storage.Schema;
using static Telemetry.IntegrationTests.Grains.GrainTestCampus;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>
/// The alert lifecycle through a sensor grain: what reaches the <c>alerts</c> series, the notifier and the alert index.
/// Ingest completes only after a step is published, so the recorders are checked right after it returns.
/// </summary>
[Collection(GrainClusterFixture.CollectionName)]
public sealed class SensorAlertTests(GrainClusterFixture fixture)
{
    IAlertIndexGrain Index => fixture.Grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key);

    IReadOnlyList<LinePoint> AlertLines(string sensor, string? alertEvent = null) =>
        alertEvent is null
            ? fixture.Writer.Points(SeriesLines.Alerts, ("sensor", sensor))
            : fixture.Writer.Points(SeriesLines.Alerts, ("sensor", sensor), ("event", alertEvent));

    [Fact]
    public async Task Threshold_breach_held_for_its_duration_raises_once_and_recovery_clears_it()
    {
        var address = Messages.Address(FreezerThreshold);
        var t0 = Messages.MinuteBase();

        // Above -15 °C, but not yet for 5 minutes of reading time.
        await fixture.Grains.IngestAsync(address, t0, ("temperature", -10));
        await fixture.Grains.IngestAsync(address, t0 + 240_000, ("temperature", -10));
        Assert.Empty(fixture.Notifier.For(FreezerThreshold));
        Assert.Empty(AlertLines(FreezerThreshold));

        await fixture.Grains.IngestAsync(address, t0 + 300_000, ("temperature", -9));
        var raised = Assert.Single(fixture.Notifier.For(FreezerThreshold));
        Assert.Equal(AlertEvent.Raised, raised.Event);
        Assert.Equal(FreezerWarmRule, raised.Alert.Rule);
        Assert.Equal(AlertSeverity.Critical, raised.Alert.Severity);
        Assert.Equal(-9, raised.Alert.Value);
        Assert.Equal(t0 + 300_000, raised.Alert.RaisedAtMs);
        Assert.Contains("Freezer is warming up", raised.Alert.Message, StringComparison.Ordinal);
        var alertId = raised.Alert.Id;

        var raisedLine = Assert.Single(AlertLines(FreezerThreshold));
        Assert.Equal("raised", raisedLine.Tag("event"));
        Assert.Equal(FreezerWarmRule, raisedLine.Tag("rule"));
        Assert.Equal("critical", raisedLine.Tag("severity"));
        Assert.Equal(BuildingId, raisedLine.Tag("building"));
        Assert.Equal(LabId, raisedLine.Tag("room"));
        Assert.Equal(alertId, raisedLine.Fields["alert_id"]);
        Assert.Equal(1, raisedLine.Number("active"));
        Assert.Equal(-9, raisedLine.Number("value"));
        Assert.Equal(t0 + 300_000, raisedLine.TimestampMs);
        Assert.Contains(await Index.GetActive(), a => a.Id == alertId && a.State == AlertState.Active);

        // Still warm, then inside the hysteresis band: the open alert is not announced again.
        await fixture.Grains.IngestAsync(address, t0 + 360_000, ("temperature", -8));
        await fixture.Grains.IngestAsync(address, t0 + 420_000, ("temperature", -12));
        Assert.Single(fixture.Notifier.For(FreezerThreshold));
        Assert.Single(AlertLines(FreezerThreshold));
        Assert.Single(await fixture.Grains.GetGrain<ISensorGrain>(FreezerThreshold).GetAlerts());

        // Cold again (at or below -17 °C) for the clear-for minute.
        await fixture.Grains.IngestAsync(address, t0 + 480_000, ("temperature", -20));
        Assert.Single(fixture.Notifier.For(FreezerThreshold));
        await fixture.Grains.IngestAsync(address, t0 + 540_000, ("temperature", -20));

        var steps = fixture.Notifier.For(FreezerThreshold);
        Assert.Equal([AlertEvent.Raised, AlertEvent.Cleared], steps.Select(s => s.Event));
        Assert.Equal(alertId, steps[1].Alert.Id);
        Assert.Equal("auto", steps[1].Alert.ClearedBy);
        var cleared = Assert.Single(AlertLines(FreezerThreshold, "cleared"));
        Assert.Equal(alertId, cleared.Fields["alert_id"]);
        Assert.Equal(0, cleared.Number("active"));
        Assert.Equal("auto", cleared.Fields["by"]);
        Assert.Equal(t0 + 540_000, cleared.TimestampMs);
        Assert.DoesNotContain(await Index.GetActive(), a => a.Id == alertId);
        Assert.Contains(await Index.GetRecent(100), a => a.Id == alertId && a.State == AlertState.Cleared);
        Assert.Empty(await fixture.Grains.GetGrain<ISensorGrain>(FreezerThreshold).GetAlerts());
    }

    [Fact]
    public async Task Acknowledge_records_who_and_a_second_acknowledgement_is_refused()
    {
        var sensor = fixture.Grains.GetGrain<ISensorGrain>(FreezerAcknowledge);
        await fixture.Grains.IngestAsync(Messages.Address(FreezerAcknowledge), Messages.NowMs, ("fault", 5));
        var alertId = Assert.Single(fixture.Notifier.For(FreezerAcknowledge)).Alert.Id;

        var result = await sensor.Acknowledge(alertId, "alice", "on my way");

        Assert.True(result.Succeeded, result.Error);
        Assert.NotNull(result.Alert);
        Assert.Equal(AlertState.Acknowledged, result.Alert.State);
        Assert.Equal("alice", result.Alert.AcknowledgedBy);
        Assert.Equal("on my way", result.Alert.AcknowledgeNote);
        var line = Assert.Single(AlertLines(FreezerAcknowledge, "acknowledged"));
        Assert.Equal(alertId, line.Fields["alert_id"]);
        Assert.Equal("alice", line.Fields["by"]);
        Assert.Equal(1, line.Number("acknowledged"));
        Assert.Equal(1, line.Number("active"));
        Assert.Equal([AlertEvent.Raised, AlertEvent.Acknowledged], fixture.Notifier.For(FreezerAcknowledge).Select(s => s.Event));
        var indexed = await Index.Find(alertId);
        Assert.NotNull(indexed);
        Assert.Equal(AlertState.Acknowledged, indexed.State);
        Assert.Equal("alice", indexed.AcknowledgedBy);
        Assert.Contains(await Index.GetActive(), a => a.Id == alertId);

        var again = await sensor.Acknowledge(alertId, "bob", null);

        Assert.False(again.Succeeded);
        Assert.Contains("already acknowledged", again.Error, StringComparison.Ordinal);
        Assert.Equal("alice", again.Alert?.AcknowledgedBy);
        Assert.Single(AlertLines(FreezerAcknowledge, "acknowledged"));
        Assert.Equal(2, fixture.Notifier.For(FreezerAcknowledge).Count);

        var unknown = await sensor.Acknowledge(FreezerAcknowledge + "/freezer-fault/1", "alice", null);
        Assert.False(unknown.Succeeded);
        Assert.False(string.IsNullOrWhiteSpace(unknown.Error));
        var nobody = await sensor.Acknowledge(alertId, " ", null);
        Assert.False(nobody.Succeeded);
    }

    [Fact]
    public async Task Manual_clear_ends_the_alert_and_the_rule_waits_for_the_condition_to_end()
    {
        var address = Messages.Address(FreezerManualClear);
        var sensor = fixture.Grains.GetGrain<ISensorGrain>(FreezerManualClear);
        var t0 = Messages.NowMs;
        await fixture.Grains.IngestAsync(address, t0, ("fault", 4));
        var alertId = Assert.Single(fixture.Notifier.For(FreezerManualClear)).Alert.Id;

        var result = await sensor.ClearAlert(alertId, "bob");

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(AlertState.Cleared, result.Alert?.State);
        Assert.Equal("bob", result.Alert?.ClearedBy);
        var line = Assert.Single(AlertLines(FreezerManualClear, "cleared"));
        Assert.Equal(alertId, line.Fields["alert_id"]);
        Assert.Equal("bob", line.Fields["by"]);
        Assert.Equal(0, line.Number("active"));
        Assert.DoesNotContain(await Index.GetActive(), a => a.Id == alertId);
        Assert.Empty(await sensor.GetAlerts());

        var twice = await sensor.ClearAlert(alertId, "bob");
        Assert.False(twice.Succeeded);
        Assert.Contains("already cleared", twice.Error, StringComparison.Ordinal);

        // The fault persists: no new alert until it has ended once.
        await fixture.Grains.IngestAsync(address, t0 + 1_000, ("fault", 4));
        Assert.Equal(2, fixture.Notifier.For(FreezerManualClear).Count);
        await fixture.Grains.IngestAsync(address, t0 + 2_000, ("fault", 0));
        await fixture.Grains.IngestAsync(address, t0 + 3_000, ("fault", 4));
        var steps = fixture.Notifier.For(FreezerManualClear);
        Assert.Equal([AlertEvent.Raised, AlertEvent.Cleared, AlertEvent.Raised], steps.Select(s => s.Event));
        Assert.NotEqual(alertId, steps[2].Alert.Id);
    }

    [Fact]
    public async Task Fault_code_raises_at_once_updates_on_another_code_and_clears_on_zero()
    {
        var address = Messages.Address(FreezerFault);
        var sensor = fixture.Grains.GetGrain<ISensorGrain>(FreezerFault);
        var t0 = Messages.NowMs;

        await fixture.Grains.IngestAsync(address, t0, ("fault", 3), ("temperature", -20));
        var raised = Assert.Single(fixture.Notifier.For(FreezerFault));
        Assert.Equal(FreezerFaultRule, raised.Alert.Rule);
        Assert.Equal(AlertRuleType.FaultCode, raised.Alert.RuleType);
        Assert.Equal(3, raised.Alert.Value);
        Assert.Contains("fault code 3", raised.Alert.Message, StringComparison.Ordinal);
        Assert.Single(AlertLines(FreezerFault, "raised"));

        await fixture.Grains.IngestAsync(address, t0 + 1_000, ("fault", 7));
        Assert.Single(fixture.Notifier.For(FreezerFault));
        var open = Assert.Single(await sensor.GetAlerts());
        Assert.Equal(raised.Alert.Id, open.Id);
        Assert.Equal(7, open.Value);

        await fixture.Grains.IngestAsync(address, t0 + 2_000, ("fault", 0));
        Assert.Equal([AlertEvent.Raised, AlertEvent.Cleared], fixture.Notifier.For(FreezerFault).Select(s => s.Event));
        Assert.Single(AlertLines(FreezerFault, "cleared"));
        Assert.Empty(await sensor.GetAlerts());
        Assert.DoesNotContain(await Index.GetActive(), a => a.Id == raised.Alert.Id);
    }

    [Fact]
    public async Task An_alert_step_reaches_people_even_when_its_influxdb_point_cannot_be_spooled()
    {
        var address = Messages.Address(FreezerSpoolFull);
        fixture.Writer.FailWhen = lines => lines.Any(l => l.StartsWith("alerts,", StringComparison.Ordinal) && l.Contains(FreezerSpoolFull, StringComparison.Ordinal));
        try
        {
            await fixture.Grains.IngestAsync(address, Messages.NowMs, ("fault", 4), ("temperature", -20));
        }
        finally
        {
            fixture.Writer.FailWhen = null;
        }

        var raised = Assert.Single(fixture.Notifier.For(FreezerSpoolFull));
        Assert.Equal(AlertEvent.Raised, raised.Event);
        Assert.Contains(await Index.GetActive(), a => a.Id == raised.Alert.Id);
        Assert.Empty(AlertLines(FreezerSpoolFull, "raised"));
        var snapshot = await fixture.Grains.GetGrain<ISensorGrain>(FreezerSpoolFull).GetSnapshot();
        Assert.Equal(4, snapshot?.LastValues["fault"]);
    }
}
