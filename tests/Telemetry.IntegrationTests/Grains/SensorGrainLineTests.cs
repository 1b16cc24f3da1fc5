using Telemetry.Contracts;
using Telemetry.Storage;
using Telemetry.Storage.Schema;
using static Telemetry.IntegrationTests.Grains.GrainTestCampus;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>What a sensor grain writes: the 1-minute roll-ups (the raw readings are the broker's).</summary>
[Collection(GrainClusterFixture.CollectionName)]
public sealed class SensorGrainLineTests(GrainClusterFixture fixture)
{
    [Fact]
    public async Task A_fed_message_is_not_written_raw_again_only_the_windows_it_closes()
    {
        // The broker wrote the raw lines (with the unregistered tag where it applies) before the grain was fed.
        var unregistered = "unreg-" + Guid.NewGuid().ToString("N")[..12];
        var window = Messages.MinuteBase();

        await fixture.Grains.IngestAsync(Messages.Address(unregistered), window + 1_000, ("temperature", 21.5));
        await fixture.Grains.IngestAsync(Messages.Address(unregistered), window + 61_000, ("temperature", 22.5));

        Assert.Empty(fixture.Writer.Points(LineProtocol.Measurement, ("sensor", unregistered)));
        var closed = Assert.Single(fixture.Writer.Points(SeriesLines.Rollup, ("sensor", unregistered)));
        Assert.Equal(window, closed.TimestampMs);
        Assert.Equal("unregistered", closed.Tag("kind"));
        Assert.Equal(1, closed.Number("count"));
        Assert.Equal(2, (await fixture.Grains.GetGrain<ISensorGrain>(unregistered).GetSnapshot())?.MessagesTotal);
    }

    [Fact]
    public async Task Unregistered_sensor_raises_no_alert_and_refuses_alert_commands()
    {
        var unregistered = "unreg-" + Guid.NewGuid().ToString("N")[..12];
        var grain = fixture.Grains.GetGrain<ISensorGrain>(unregistered);

        await fixture.Grains.IngestAsync(Messages.Address(unregistered), Messages.NowMs, ("fault", 9));

        Assert.Empty(fixture.Notifier.For(unregistered));
        Assert.Empty(await grain.GetAlerts());
        var result = await grain.Acknowledge($"{unregistered}/x/1", "alice", null);
        Assert.False(result.Succeeded);
        Assert.Contains("not in the campus registry", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reading_in_a_later_minute_closes_the_window_and_a_late_reading_rewrites_it()
    {
        var address = Messages.Address(FreezerRollup);
        var window = Messages.MinuteBase();

        await fixture.Grains.IngestAsync(address, window + 10_000, ("temperature", -20));
        await fixture.Grains.IngestAsync(address, window + 20_000, ("temperature", -22));
        await fixture.Grains.IngestAsync(address, window + 30_000, ("temperature", -21));
        Assert.Empty(Windows());

        await fixture.Grains.IngestAsync(address, window + 65_000, ("temperature", -19));
        var closed = Assert.Single(Windows());
        Assert.Equal(window, closed.TimestampMs);
        Assert.Equal(BuildingId, closed.Tag("building"));
        Assert.Equal(LabId, closed.Tag("room"));
        Assert.Equal("freezer", closed.Tag("kind"));
        Assert.Equal(-22, closed.Number("min"));
        Assert.Equal(-20, closed.Number("max"));
        Assert.Equal(-21, closed.Number("mean"), 9);
        Assert.Equal(3, closed.Number("count"));
        Assert.Equal(-21, closed.Number("last"));

        // Late but within the allowed lateness: the same window is written again with the reading included.
        await fixture.Grains.IngestAsync(address, window + 40_000, ("temperature", -30));
        var windows = Windows();
        Assert.Equal(2, windows.Count);
        var rewritten = windows[^1];
        Assert.Equal(window, rewritten.TimestampMs);
        Assert.Equal(-30, rewritten.Number("min"));
        Assert.Equal(-20, rewritten.Number("max"));
        Assert.Equal(-23.25, rewritten.Number("mean"), 9);
        Assert.Equal(4, rewritten.Number("count"));
        Assert.Equal(-30, rewritten.Number("last"));

        IReadOnlyList<LinePoint> Windows() =>
            [.. fixture.Writer.Points(SeriesLines.Rollup, ("sensor", FreezerRollup), ("metric", "temperature")).Where(p => p.TimestampMs == window)];
    }
}
