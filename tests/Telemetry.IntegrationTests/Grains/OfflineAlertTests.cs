using Telemetry.Contracts;
using Telemetry.Grains.Alerts;
using Telemetry.Storage.Schema;
using static Telemetry.IntegrationTests.Grains.GrainTestCampus;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>
/// Offline detection runs on the sensor grain's timer (wall clock): beacons report every second and count as offline
/// after 1.5 silent intervals, or 300 ms after their connection closed.
/// </summary>
[Collection(GrainClusterFixture.CollectionName)]
public sealed class OfflineAlertTests(GrainClusterFixture fixture)
{
    // The timer ticks every quarter interval; on a busy machine a tick may come late.
    static readonly TimeSpan SchedulingSlack = TimeSpan.FromMilliseconds(500);

    IAlertIndexGrain Index => fixture.Grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key);

    [Fact]
    public async Task Silent_sensor_goes_offline_within_two_intervals_and_data_clears_it()
    {
        var address = Messages.Address(BeaconSilent);

        // The beacon may have gone offline already (the campus starts every sensor); data ends that first.
        var message = Messages.One(address, Messages.NowMs, ("battery", 90));
        var seenAt = message.ReceivedAtMs;
        await fixture.Grains.FeedAsync(message);
        var before = fixture.Notifier.For(BeaconSilent).Count;

        var raised = await Poll.UntilAsync(
            $"an offline alert raised for the silent {BeaconSilent}",
            () => Task.FromResult(fixture.Notifier.For(BeaconSilent).Skip(before).FirstOrDefault(s => s.Event == AlertEvent.Raised)),
            s => s is not null, cancellationToken: TestContext.Current.CancellationToken);

        Assert.NotNull(raised);
        Assert.Equal(OfflineRule, raised.Alert.Rule);
        Assert.Equal(AlertRuleType.Offline, raised.Alert.RuleType);
        Assert.Equal(AlertSeverity.Warning, raised.Alert.Severity);
        Assert.Contains("no data for", raised.Alert.Message, StringComparison.Ordinal);
        var silence = raised.Alert.RaisedAtMs - seenAt;
        Assert.InRange(silence, (long)(BeaconOfflineIntervals * BeaconInterval.TotalMilliseconds),
            (long)((2 * BeaconInterval) + SchedulingSlack).TotalMilliseconds);
        Assert.Contains(fixture.Writer.Points(SeriesLines.Alerts, ("sensor", BeaconSilent), ("event", "raised")),
            p => p.Fields.TryGetValue("alert_id", out var id) && id == raised.Alert.Id); // a clear adds cleared_at_ms to an earlier raise
        Assert.Contains(await Index.GetActive(), a => a.Id == raised.Alert.Id);
        var room = await Poll.UntilAsync("the room to report the beacon offline", RoomSensor, r => r is { Online: false }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(room?.Online);

        var stepsBefore = fixture.Notifier.For(BeaconSilent).Count;
        await fixture.Grains.IngestAsync(address, Messages.NowMs, ("battery", 90));

        var cleared = fixture.Notifier.For(BeaconSilent).Skip(stepsBefore).Where(s => s.Alert.Id == raised.Alert.Id).ToList();
        Assert.Equal(AlertEvent.Cleared, Assert.Single(cleared).Event);
        Assert.Equal("auto", cleared[0].Alert.ClearedBy);
        Assert.DoesNotContain(await Index.GetActive(), a => a.Id == raised.Alert.Id);
        room = await Poll.UntilAsync("the room to report the beacon online again", RoomSensor, r => r is { Online: true }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(room?.Online);
        Assert.Contains(fixture.Writer.Points(SeriesLines.DeviceStatus, ("sensor", BeaconSilent)), p => p.Number("online") == 0);

        async Task<SensorReport?> RoomSensor() =>
            (await fixture.Grains.GetGrain<IRoomGrain>(CampusKeys.Room(BuildingId, LabId)).GetState()).Sensors.FirstOrDefault(s => s.Sensor == BeaconSilent);
    }

    [Fact]
    public async Task Disconnected_sensor_goes_offline_after_the_grace_and_data_clears_it()
    {
        var address = Messages.Address(BeaconDisconnect);
        var grain = fixture.Grains.GetGrain<ISensorGrain>(BeaconDisconnect);
        await fixture.Grains.IngestAsync(address, Messages.NowMs, ("battery", 80));
        var before = fixture.Notifier.For(BeaconDisconnect).Count;

        var disconnectedAt = Messages.NowMs;
        await grain.Disconnected(disconnectedAt);
        var raised = await Poll.UntilAsync(
            $"an offline alert raised for the disconnected {BeaconDisconnect}",
            () => Task.FromResult(fixture.Notifier.For(BeaconDisconnect).Skip(before).FirstOrDefault(s => s.Event == AlertEvent.Raised)),
            s => s is not null, cancellationToken: TestContext.Current.CancellationToken);

        Assert.NotNull(raised);
        Assert.Equal(OfflineRule, raised.Alert.Rule);
        // Raised on the grace, before silence alone would have counted: the message names the disconnect.
        Assert.Contains("disconnected for", raised.Alert.Message, StringComparison.Ordinal);
        Assert.InRange(raised.Alert.RaisedAtMs - disconnectedAt, (long)BeaconGrace.TotalMilliseconds,
            (long)(BeaconOfflineIntervals * BeaconInterval.TotalMilliseconds));
        Assert.Contains(await grain.GetAlerts(), a => a.Id == raised.Alert.Id);

        await fixture.Grains.IngestAsync(address, Messages.NowMs, ("battery", 80));
        Assert.Contains(fixture.Notifier.For(BeaconDisconnect), s => s.Event == AlertEvent.Cleared && s.Alert.Id == raised.Alert.Id);
        Assert.DoesNotContain(await grain.GetAlerts(), a => a.Id == raised.Alert.Id);
    }
}
