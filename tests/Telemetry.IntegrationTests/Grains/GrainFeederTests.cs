using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Domain.Observability;
using Telemetry.Grains.Feed;
using Telemetry.Grains.Persistence;
using Telemetry.Grains.Sensors;
using Telemetry.Storage;
using Telemetry.Storage.Schema;
using Telemetry.Storage.Spool;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>
/// The grain feeder between a spool's grain feed (an in-memory <see cref="IGrainFeed"/>) and the real sensor grains:
/// it delivers every raw record in order per sensor, passes over derived records and lines it cannot read, and has
/// every sensor it fed save its state before it moves the feed's consumed position.
/// </summary>
[Collection(GrainClusterFixture.CollectionName)]
public sealed class GrainFeederTests(GrainClusterFixture fixture)
{
    static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Delivers_in_order_per_sensor_and_saves_every_fed_sensor_before_consuming()
    {
        var feed = new InMemoryGrainFeed("feeder-" + Guid.NewGuid().ToString("N"));
        var sensors = Enumerable.Range(0, 3).Select(i => $"unreg-{Guid.NewGuid():N}"[..18] + i).ToArray();
        var window = Messages.MinuteBase();
        var expected = sensors.ToDictionary(s => s, _ => new List<(SpoolPosition Position, long Timestamp)>(), StringComparer.Ordinal);
        for (var i = 0; i < 30; i++)
        {
            var sensor = sensors[(i * 7) % 3];
            var timestamp = window + ((29 - i) * 1_000); // newest first: the order is the spool's, not the readings'
            var end = feed.Append(LineProtocol.ToLines(new SensorAddress("b", "r", sensor), [new Reading(timestamp, [new Metric("v", i)])], unregistered: true), Messages.NowMs);
            expected[sensor].Add((end, timestamp));
            if (i % 5 == 0)
            {
                // Grains' derived records and a raw record that does not read back are passed over.
                feed.Append([SeriesLines.RollupWindow(new SensorAddress("b", "r", sensor), "unregistered", "v", window, 1, 1, 1, 1, 1)], Messages.NowMs);
                feed.Append(["telemetry,building=b,room=r,sensor=" + sensor + " v=1i " + timestamp], Messages.NowMs);
            }
        }

        var feeder = Feeder(feed, TimeSpan.FromMilliseconds(200));
        await feeder.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var lastEnd = feed.Entries[^1].End;
            await Poll.UntilAsync("the feed consumed to its last record", () => Task.FromResult(feed.FeedConsumed), c => c == lastEnd, Within,
                cancellationToken: TestContext.Current.CancellationToken);
        }
        finally
        {
            await feeder.StopAsync(CancellationToken.None);
        }

        foreach (var sensor in sensors)
        {
            var calls = SensorCalls.Of(sensor);
            var fed = calls.Where(c => c.Batch is not null).SelectMany(c => c.Batch!.Messages).ToList();
            Assert.Equal(expected[sensor].Select(e => e.Position), fed.Select(m => new SpoolPosition(m.Segment, m.Offset)));
            Assert.Equal(expected[sensor].Select(e => e.Timestamp), fed.Select(m => m.Message.Readings[0].TimestampMs));
            Assert.All(calls.Where(c => c.Batch is not null), c => Assert.Equal(feed.SpoolId, c.Batch!.SpoolId));
            Assert.Equal(expected[sensor].Count, (await fixture.Grains.GetGrain<ISensorGrain>(sensor).GetSnapshot())?.MessagesTotal);

            // Every consumed position was preceded by a checkpoint of this sensor after its last batch up to there.
            foreach (var (consumedAt, position) in feed.Consumed)
            {
                var lastBatch = calls.LastOrDefault(c => c.Batch is { } b && c.Sequence < consumedAt && b.Messages.Any(m => new SpoolPosition(m.Segment, m.Offset) <= position));
                if (lastBatch is null)
                {
                    continue;
                }

                Assert.Contains(calls, c => c.Method == nameof(ISensorGrain.Checkpoint) && c.Sequence > lastBatch.Sequence && c.Sequence < consumedAt);
            }

            var state = new GrainState<SensorGrainState>(new SensorGrainState());
            await new DurableFileGrainStorage(fixture.StateDirectory, NullLogger<DurableFileGrainStorage>.Instance)
                .ReadStateAsync("sensor", GrainId.Create("sensor", sensor), state);
            Assert.Equal(expected[sensor][^1].Position, state.State?.FeedPositions?[feed.SpoolId]);
        }

        // A restart whose consumed position lagged behind: the replay is skipped by every grain.
        var replay = feed.Reopen(expected[sensors[0]][2].Position);
        var again = Feeder(replay, TimeSpan.FromMilliseconds(200));
        await again.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var lastEnd = feed.Entries[^1].End;
            await Poll.UntilAsync("the replayed feed consumed to its last record", () => Task.FromResult(replay.FeedConsumed), c => c == lastEnd, Within,
                cancellationToken: TestContext.Current.CancellationToken);
        }
        finally
        {
            await again.StopAsync(CancellationToken.None);
        }

        foreach (var sensor in sensors)
        {
            Assert.Equal(expected[sensor].Count, (await fixture.Grains.GetGrain<ISensorGrain>(sensor).GetSnapshot())?.MessagesTotal);
        }
    }

    [Fact]
    public async Task The_stop_feeds_what_is_left_and_ends_with_a_checkpoint()
    {
        var feed = new InMemoryGrainFeed("feeder-stop-" + Guid.NewGuid().ToString("N"));
        var sensor = $"unreg-{Guid.NewGuid():N}"[..18];
        var feeder = Feeder(feed, TimeSpan.FromHours(1));
        await feeder.StartAsync(TestContext.Current.CancellationToken);
        var ends = new List<SpoolPosition>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                ends.Add(feed.Append(LineProtocol.ToLines(new SensorAddress("b", "r", sensor), [new Reading(Messages.NowMs + i, [new Metric("v", i)])]), Messages.NowMs));
            }

            await Poll.UntilAsync($"{sensor} fed its 5 messages", async () => (await fixture.Grains.GetGrain<ISensorGrain>(sensor).GetSnapshot())?.MessagesTotal,
                n => n == 5, Within, cancellationToken: TestContext.Current.CancellationToken);

            // No round is due for an hour: nothing is consumed before the stop.
            Assert.Empty(feed.Consumed);
        }
        finally
        {
            await feeder.StopAsync(CancellationToken.None);
        }

        var (consumedAt, position) = Assert.Single(feed.Consumed);
        Assert.Equal(ends[^1], position);
        Assert.Contains(SensorCalls.Of(sensor), c => c.Method == nameof(ISensorGrain.Checkpoint) && c.Sequence < consumedAt);
    }

    [Fact]
    public async Task A_grain_that_lost_what_it_was_fed_makes_the_feeder_rewind_and_feed_it_again()
    {
        var feed = new InMemoryGrainFeed("feeder-rewind-" + Guid.NewGuid().ToString("N"));
        var sensor = $"unreg-{Guid.NewGuid():N}"[..18];
        var grain = fixture.Grains.GetGrain<ISensorGrain>(sensor);
        var window = Messages.MinuteBase();
        var clock = new SteppedTime();
        SpoolPosition Append(int i) =>
            feed.Append(LineProtocol.ToLines(new SensorAddress("b", "r", sensor), [new Reading(window + (i * 1_000), [new Metric("v", i)])], unregistered: true), Messages.NowMs);

        // A round is due only when the test steps the clock an interval on (while the feeder waits for records) and
        // wakes it with a record (a derived one, which it passes over): nothing of the feeder runs between the steps below.
        async Task Round()
        {
            await Poll.UntilAsync("the feeder to wait for records", () => Task.FromResult(feed.ReaderWaiting), w => w, Within,
                cancellationToken: TestContext.Current.CancellationToken);
            clock.Step(TimeSpan.FromHours(1));
            feed.Append([SeriesLines.RollupWindow(new SensorAddress("b", "r", sensor), "unregistered", "v", window, 1, 1, 1, 1, 1)], Messages.NowMs);
        }

        var feeder = Feeder(feed, TimeSpan.FromHours(1), clock);
        await feeder.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            for (var i = 1; i <= 3; i++)
            {
                Append(i);
            }

            await PollMessagesAsync(grain, 3);
            await Round();
            await Poll.UntilAsync("the feed consumed its first records", () => Task.FromResult(feed.FeedConsumed), c => c == feed.Entries[^1].End, Within,
                cancellationToken: TestContext.Current.CancellationToken);
            var saved = await ReadStateAsync(sensor);
            Assert.Equal(3, saved.MessagesTotal);

            // Message 4 is handed over; the grain's node dies before the next round (simulated: its activation goes
            // and its saved state is the one of the round).
            Append(4);
            await PollMessagesAsync(grain, 4);
            await fixture.Cluster.DeactivateAsync(grain);
            await fixture.Cluster.WaitForDeactivationAsync(grain);
            await new DurableFileGrainStorage(fixture.StateDirectory, NullLogger<DurableFileGrainStorage>.Instance)
                .WriteStateAsync("sensor", GrainId.Create("sensor", sensor), new GrainState<SensorGrainState>(saved));

            // Message 5 is set aside by the grain, which does not hold message 4.
            var five = Append(5);
            await Poll.UntilAsync("message 5 handed to the grain", () => Task.FromResult(SensorCalls.Of(sensor)),
                calls => calls.Any(c => c.Batch?.Messages.Any(m => new SpoolPosition(m.Segment, m.Offset) == five) == true), Within,
                show: calls => $"{calls.Count} calls", cancellationToken: TestContext.Current.CancellationToken);
            Assert.Null(await grain.GetSnapshot()); // nothing applied since its activation
            var consumedBefore = feed.FeedConsumed;

            // The round finds the grain behind: the consumed position stays, the feed rewinds, 4 and 5 come again.
            await Round();
            await PollMessagesAsync(grain, 5);
            Assert.Single(feed.Rewinds);
            Assert.Equal(consumedBefore, feed.FeedConsumed);
            Assert.Equal(5, (await grain.GetSnapshot())?.LastValues["v"]);

            await Round();
            await Poll.UntilAsync("the feed consumed to its last record after the rewind", () => Task.FromResult(feed.FeedConsumed), c => c == feed.Entries[^1].End, Within,
                cancellationToken: TestContext.Current.CancellationToken);
            Assert.Single(feed.Rewinds);
            Assert.Equal(5, (await ReadStateAsync(sensor)).MessagesTotal);
        }
        finally
        {
            await feeder.StopAsync(CancellationToken.None);
        }
    }

    static async Task PollMessagesAsync(ISensorGrain grain, long count) =>
        await Poll.UntilAsync($"{grain.GetPrimaryKeyString()} to hold {count} messages", async () => (await grain.GetSnapshot())?.MessagesTotal,
            n => n == count, Within, cancellationToken: TestContext.Current.CancellationToken);

    async Task<SensorGrainState> ReadStateAsync(string sensor)
    {
        var state = new GrainState<SensorGrainState>(new SensorGrainState());
        await new DurableFileGrainStorage(fixture.StateDirectory, NullLogger<DurableFileGrainStorage>.Instance)
            .ReadStateAsync("sensor", GrainId.Create("sensor", sensor), state);
        return state.State ?? throw new InvalidOperationException($"{sensor} has no state");
    }

    /// <summary>The system clock whose timestamps the test steps forward (our own seam: only elapsed times move; timers run as usual).</summary>
    sealed class SteppedTime : TimeProvider
    {
        long offset;

        public void Step(TimeSpan by) => Interlocked.Add(ref offset, (long)(by.TotalSeconds * TimestampFrequency));

        public override long GetTimestamp() => base.GetTimestamp() + Interlocked.Read(ref offset);
    }

    GrainFeeder Feeder(IGrainFeed feed, TimeSpan checkpointInterval, TimeProvider? time = null)
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var options = Options.Create(new GrainFeedOptions { FeedCheckpointInterval = checkpointInterval, FeedBatchRecords = 7, FeedMaxAttempts = 3 });
        return new GrainFeeder(feed, fixture.Grains, options, new TelemetryMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()),
            time ?? TimeProvider.System, NullLogger<GrainFeeder>.Instance);
    }
}
