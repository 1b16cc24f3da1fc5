using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Contracts;
using Telemetry.Grains.Persistence;
using Telemetry.Grains.Sensors;
using Telemetry.Storage.Schema;
using Telemetry.Storage.Spool;
using static Telemetry.IntegrationTests.Grains.GrainTestCampus;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>
/// The sensor grain's batch ingest: a batch does what its messages one at a time do, a replay (same spool positions)
/// does nothing, and after a reactivation the state saved at a checkpoint decides exactly what of a replay is skipped.
/// </summary>
[Collection(GrainClusterFixture.CollectionName)]
public sealed class SensorGrainFeedTests(GrainClusterFixture fixture)
{
    /// <summary>Three minutes of a freezer: windows closed and a late reading rewriting one, a fault raised and cleared.</summary>
    static TelemetryMessage[] FreezerDay(string sensor, long window) =>
    [
        Messages.One(Messages.Address(sensor), window + 10_000, ("temperature", -20)),
        Messages.One(Messages.Address(sensor), window + 20_000, ("temperature", -22)),
        Messages.One(Messages.Address(sensor), window + 65_000, ("temperature", -19), ("fault", 3)),
        Messages.One(Messages.Address(sensor), window + 40_000, ("temperature", -30)),
        Messages.One(Messages.Address(sensor), window + 70_000, ("temperature", -18), ("fault", 0)),
        Messages.One(Messages.Address(sensor), window + 130_000, ("temperature", -21), ("fault", 5)),
        Messages.One(Messages.Address(sensor), window + 185_000, ("temperature", -21)),
    ];

    IReadOnlyList<(long, string, double, double, double, double, double)> Windows(string sensor) =>
    [
        .. fixture.Writer.Points(SeriesLines.Rollup, ("sensor", sensor))
            .Select(p => (p.TimestampMs, p.Tag("metric"), p.Number("min"), p.Number("max"), p.Number("mean"), p.Number("count"), p.Number("last"))),
    ];

    IReadOnlyList<(AlertEvent, string, double?)> Steps(string sensor) =>
        [.. fixture.Notifier.For(sensor).Select(s => (s.Event, s.Alert.Rule, s.Alert.Value))];

    [Fact]
    public async Task A_batch_gives_the_same_rollups_alert_steps_and_counters_as_its_messages_one_at_a_time()
    {
        var window = Messages.MinuteBase();
        foreach (var message in FreezerDay(FreezerOneByOne, window))
        {
            await fixture.Grains.FeedAsync(message);
        }

        await fixture.Grains.FeedAsync(FreezerDay(FreezerBatched, window));

        Assert.NotEmpty(Windows(FreezerOneByOne));
        Assert.Equal(Windows(FreezerOneByOne), Windows(FreezerBatched));
        Assert.Equal([AlertEvent.Raised, AlertEvent.Cleared, AlertEvent.Raised], Steps(FreezerOneByOne).Select(s => s.Item1));
        Assert.Equal(Steps(FreezerOneByOne), Steps(FreezerBatched));
        var one = await fixture.Grains.GetGrain<ISensorGrain>(FreezerOneByOne).GetSnapshot();
        var batched = await fixture.Grains.GetGrain<ISensorGrain>(FreezerBatched).GetSnapshot();
        Assert.NotNull(one);
        Assert.NotNull(batched);
        Assert.Equal((one.MessagesTotal, one.ReadingsTotal, one.LastReadingMs), (batched.MessagesTotal, batched.ReadingsTotal, batched.LastReadingMs));
        Assert.Equal(one.LastValues.OrderBy(kv => kv.Key), batched.LastValues.OrderBy(kv => kv.Key));
    }

    [Fact]
    public async Task A_replayed_batch_changes_nothing_and_raises_no_alert_twice()
    {
        var sensor = fixture.Grains.GetGrain<ISensorGrain>(FreezerReplay);
        var window = Messages.MinuteBase();
        var day = FreezerDay(FreezerReplay, window);
        var spool = "replay-" + Guid.NewGuid().ToString("N");
        var batch = new FeedBatch(spool, [.. day.Select((m, i) => new FedMessage(3, 1_000 + (i * 10), m))]);

        await sensor.IngestBatch(batch);
        var steps = Steps(FreezerReplay);
        var windows = Windows(FreezerReplay);
        var snapshot = await sensor.GetSnapshot();
        Assert.Equal(3, steps.Count);
        Assert.Equal(day.Length, snapshot?.MessagesTotal);

        // The same batch again, and its first half again: nothing happens.
        await sensor.IngestBatch(batch);
        await sensor.IngestBatch(batch with { Messages = [.. batch.Messages.Take(3)] });
        Assert.Equal(steps, Steps(FreezerReplay));
        Assert.Equal(windows, Windows(FreezerReplay));
        Assert.Equal(snapshot?.MessagesTotal, (await sensor.GetSnapshot())?.MessagesTotal);
        Assert.Single(await sensor.GetAlerts());

        // Overlapping a new message: only that one is applied (it clears the fault).
        var next = Messages.One(Messages.Address(FreezerReplay), window + 190_000, ("fault", 0));
        await sensor.IngestBatch(batch with { Messages = [.. batch.Messages.Skip(4), new FedMessage(3, 5_000, next)] });
        Assert.Equal(day.Length + 1, (await sensor.GetSnapshot())?.MessagesTotal);
        var after = Steps(FreezerReplay);
        Assert.Equal(steps, after.Take(steps.Count));
        Assert.Equal((AlertEvent.Cleared, FreezerFaultRule), (after[^1].Item1, after[^1].Item2));
        Assert.Equal(steps.Count + 1, after.Count);

        // Another spool's positions are its own: position 1 of a new spool is news.
        var other = Messages.One(Messages.Address(FreezerReplay), window + 195_000, ("temperature", -22));
        await sensor.IngestBatch(new FeedBatch(spool + "-b", [new FedMessage(1, 1, other)]));
        Assert.Equal(day.Length + 2, (await sensor.GetSnapshot())?.MessagesTotal);
    }

    [Fact]
    public async Task After_a_reactivation_a_replay_is_skipped_exactly_up_to_the_position_saved_at_the_checkpoint()
    {
        // Unregistered: such a sensor has state too once it is fed from a spool.
        var id = "unreg-" + Guid.NewGuid().ToString("N")[..12];
        var sensor = fixture.Grains.GetGrain<ISensorGrain>(id);
        var spool = "reactivate-" + Guid.NewGuid().ToString("N");
        var window = Messages.MinuteBase();
        var messages = Enumerable.Range(1, 6)
            .Select(i => new FedMessage(2, i * 100, Messages.One(Messages.Address(id), window + (i * 1_000), ("temperature", i))))
            .ToArray();

        await sensor.IngestBatch(new FeedBatch(spool, messages[..3]));
        Assert.True(await sensor.Checkpoint(spool, new FeedPosition(2, 300)));

        var saved = await ReadStateAsync(id);
        Assert.Equal(new SpoolPosition(2, 300), saved.FeedPositions?[spool]);
        Assert.Equal(3, saved.MessagesTotal);

        await fixture.Cluster.DeactivateAsync(sensor);
        await fixture.Cluster.WaitForDeactivationAsync(sensor);

        // The feed replays from an older position: messages 2 and 3 are in the saved state, 4 to 6 are not.
        await sensor.IngestBatch(new FeedBatch(spool, messages[1..]));
        var snapshot = await sensor.GetSnapshot();
        Assert.Equal(6, snapshot?.MessagesTotal);
        Assert.Equal(6, snapshot?.ReadingsTotal);
        Assert.Equal(6, snapshot?.LastValues["temperature"]);

        // The window they all fall in counts each reading once.
        await sensor.IngestBatch(new FeedBatch(spool, [new FedMessage(2, 700, Messages.One(Messages.Address(id), window + 61_000, ("temperature", 7)))]));
        // (Deactivation wrote the window open then, with its 3 readings; this is the window as it closed.)
        var closed = fixture.Writer.Points(SeriesLines.Rollup, ("sensor", id)).Last(p => p.TimestampMs == window);
        Assert.Equal(6, closed.Number("count"));
        Assert.Equal(21.0 / 6, closed.Number("mean"), 9);

        Assert.True(await sensor.Checkpoint(spool, new FeedPosition(2, 700)));
        Assert.Equal(new SpoolPosition(2, 700), (await ReadStateAsync(id)).FeedPositions?[spool]);
        Assert.Equal(7, (await ReadStateAsync(id)).MessagesTotal);
    }

    [Fact]
    public async Task A_grain_that_lost_fed_messages_sets_later_batches_aside_and_answers_behind_until_fed_again_in_order()
    {
        var id = "unreg-" + Guid.NewGuid().ToString("N")[..12];
        var sensor = fixture.Grains.GetGrain<ISensorGrain>(id);
        var spool = "lost-" + Guid.NewGuid().ToString("N");
        var window = Messages.MinuteBase();
        var messages = Enumerable.Range(1, 6)
            .Select(i => new FedMessage(4, i * 100, Messages.One(Messages.Address(id), window + (i * 1_000), ("temperature", i))))
            .ToArray();

        await sensor.IngestBatch(new FeedBatch(spool, messages[..3]));
        Assert.True(await sensor.Checkpoint(spool, new FeedPosition(4, 300)));
        var savedAtCheckpoint = await ReadStateAsync(id);

        // Messages 4 and 5 are handed over; then the grain's node dies before it saves them: its next activation has
        // the state of the checkpoint (simulated: the deactivation's save is replaced by the checkpoint's state).
        await sensor.IngestBatch(new FeedBatch(spool, messages[3..5], HandedBefore: new FeedPosition(4, 300)));
        await fixture.Cluster.DeactivateAsync(sensor);
        await fixture.Cluster.WaitForDeactivationAsync(sensor);
        await WriteStateAsync(id, savedAtCheckpoint);

        // Message 6 comes with what the feeder handed before it: the grain does not hold it, so it applies nothing.
        await sensor.IngestBatch(new FeedBatch(spool, messages[5..], HandedBefore: new FeedPosition(4, 500)));
        Assert.Null(await sensor.GetSnapshot()); // nothing applied since its activation
        Assert.False(await sensor.Checkpoint(spool, new FeedPosition(4, 600)));
        Assert.Equal(new SpoolPosition(4, 300), (await ReadStateAsync(id)).FeedPositions?[spool]);

        // The feeder rewinds to its consumed position (after message 3) and feeds 4 to 6 again, in order.
        await sensor.IngestBatch(new FeedBatch(spool, messages[3..]));
        var snapshot = await sensor.GetSnapshot();
        Assert.Equal(6, snapshot?.MessagesTotal);
        Assert.Equal(6, snapshot?.LastValues["temperature"]);
        Assert.True(await sensor.Checkpoint(spool, new FeedPosition(4, 600)));
        Assert.Equal(new SpoolPosition(4, 600), (await ReadStateAsync(id)).FeedPositions?[spool]);
    }

    Task WriteStateAsync(string sensor, SensorGrainState state) =>
        new DurableFileGrainStorage(fixture.StateDirectory, NullLogger<DurableFileGrainStorage>.Instance)
            .WriteStateAsync("sensor", GrainId.Create("sensor", sensor), new GrainState<SensorGrainState>(state));

    [Fact]
    public async Task A_state_file_written_before_the_grain_feed_still_loads()
    {
        var id = "unreg-" + Guid.NewGuid().ToString("N")[..12];
        await new DurableFileGrainStorage(fixture.StateDirectory, NullLogger<DurableFileGrainStorage>.Instance)
            .WriteStateAsync("sensor", GrainId.Create("sensor", id), new GrainState<LegacySensorState>(new LegacySensorState { MessagesTotal = 40, ReadingsTotal = 41, LastSeenMs = 1 }));

        await fixture.Grains.IngestAsync(Messages.Address(id), Messages.NowMs, ("temperature", 20));

        var snapshot = await fixture.Grains.GetGrain<ISensorGrain>(id).GetSnapshot();
        Assert.Equal(41, snapshot?.MessagesTotal);
        Assert.Equal(42, snapshot?.ReadingsTotal);
    }

    [Fact]
    public async Task A_registered_sensor_saves_at_a_checkpoint_only_what_it_took_since_its_last_save()
    {
        var sensor = fixture.Grains.GetGrain<ISensorGrain>(FreezerReactivate);
        await fixture.Grains.IngestAsync(Messages.Address(FreezerReactivate), Messages.NowMs, ("temperature", -20));
        await sensor.Checkpoint(Messages.TestSpool, null);
        var first = await ReadStateAsync(FreezerReactivate);
        Assert.Equal(1, first.MessagesTotal);
        Assert.NotNull(first.FeedPositions?[Messages.TestSpool]);

        await fixture.Grains.IngestAsync(Messages.Address(FreezerReactivate), Messages.NowMs, ("temperature", -21));
        await sensor.Checkpoint(Messages.TestSpool, null);
        var second = await ReadStateAsync(FreezerReactivate);
        Assert.Equal(2, second.MessagesTotal);
        Assert.True(second.FeedPositions![Messages.TestSpool] > first.FeedPositions![Messages.TestSpool]);
    }

    async Task<SensorGrainState> ReadStateAsync(string sensor)
    {
        var state = new GrainState<SensorGrainState>(new SensorGrainState());
        await new DurableFileGrainStorage(fixture.StateDirectory, NullLogger<DurableFileGrainStorage>.Instance)
            .ReadStateAsync("sensor", GrainId.Create("sensor", sensor), state);
        Assert.True(state.RecordExists, $"{sensor} has no state file");
        return state.State ?? throw new InvalidOperationException($"{sensor}: the state file holds nothing");
    }

    /// <summary>The sensor state as written before the grain feed: no spool positions.</summary>
    public sealed class LegacySensorState
    {
        public long LastSeenMs { get; set; }

        public long MessagesTotal { get; set; }

        public long ReadingsTotal { get; set; }
    }
}
