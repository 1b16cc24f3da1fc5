using Telemetry.Storage.Spool;

namespace Telemetry.UnitTests.Storage.Spool;

/// <summary>
/// The ledger with two consumers, InfluxDB and the grain feed: segments go only behind both, the capacity counts from
/// the older, the feed's lag follows what it consumed.
/// </summary>
public class SpoolLedgerFeedTests
{
    const long T0 = 1_795_860_000_000;

    static SpoolLedger Fed(long capacity)
    {
        var ledger = new SpoolLedger(capacity);
        ledger.Restore(new RecoveredSpool(new SpoolPosition(1, 0), [], 0, 0, [], 1, FeedConsumed: new SpoolPosition(1, 0)));
        ledger.SegmentStarted(1);
        return ledger;
    }

    /// <summary>Segment 1 holds 500 bytes (5 lines), segment 2 holds 400 bytes (4 lines), appended a second apart.</summary>
    static SpoolLedger TwoSegments(long capacity = 1 << 20)
    {
        var ledger = Fed(capacity);
        Assert.True(ledger.TryReserve(500));
        ledger.Commit(1, 500, 500, 5, T0);
        ledger.SegmentStarted(2);
        Assert.True(ledger.TryReserve(400));
        ledger.Commit(2, 400, 400, 4, T0 + 1000);
        return ledger;
    }

    [Fact]
    public void A_segment_InfluxDB_has_passed_stays_while_the_feed_has_not_consumed_it()
    {
        var ledger = TwoSegments();

        var acknowledged = ledger.Acknowledge(new SpoolPosition(2, 0), 500, 5);
        Assert.Empty(acknowledged.Segments);
        Assert.Equal((true, 500L, (long?)2), ledger.Locate(1));

        ledger.FeedRead(new SpoolPosition(2, 400), 9);
        var consumed = ledger.ConsumeFeed(new SpoolPosition(2, 100));
        Assert.Equal([1L], consumed.Segments);
        Assert.Equal((false, 0L, (long?)2), ledger.Locate(1));
    }

    [Fact]
    public void A_segment_the_feed_has_consumed_stays_while_InfluxDB_has_not_acknowledged_it()
    {
        var ledger = TwoSegments();
        ledger.FeedRead(new SpoolPosition(2, 400), 9);

        Assert.Empty(ledger.ConsumeFeed(new SpoolPosition(2, 400)).Segments);
        Assert.Equal(new SpoolPosition(2, 400), ledger.FeedConsumed);

        Assert.Equal([1L], ledger.Acknowledge(new SpoolPosition(2, 0), 500, 5).Segments);
    }

    [Fact]
    public void Consuming_the_end_of_a_segment_that_has_a_successor_releases_it()
    {
        var ledger = TwoSegments();
        _ = ledger.Acknowledge(new SpoolPosition(2, 400), 900, 9);
        ledger.FeedRead(new SpoolPosition(1, 500), 5);

        Assert.Equal([1L], ledger.ConsumeFeed(new SpoolPosition(1, 500)).Segments);
        Assert.Equal(new SpoolPosition(2, 0), ledger.FeedConsumed);
        Assert.Equal((400, 4), (ledger.FeedLagBytes, ledger.FeedLagLines));
    }

    [Fact]
    public void The_capacity_counts_from_the_older_consumer()
    {
        var ledger = TwoSegments(capacity: 1000);
        Assert.False(ledger.TryReserve(101));

        // InfluxDB has everything, the feed nothing: still 900 bytes used.
        _ = ledger.Acknowledge(new SpoolPosition(2, 400), 900, 9);
        Assert.Equal((0, 900, 900), (ledger.PendingBytes, ledger.FeedLagBytes, ledger.UsedBytes));
        Assert.False(ledger.TryReserve(101));

        // The feed consumes segment 1: 400 bytes used, below 90 %: there is room again.
        ledger.FeedRead(new SpoolPosition(2, 400), 9);
        var release = ledger.ConsumeFeed(new SpoolPosition(2, 0));
        Assert.True(release.RoomAgain);
        Assert.Equal(400, ledger.UsedBytes);
        Assert.True(ledger.TryReserve(600));
    }

    [Fact]
    public void When_InfluxDB_is_the_older_consumer_its_backlog_fills_the_spool()
    {
        var ledger = TwoSegments(capacity: 1000);
        ledger.FeedRead(new SpoolPosition(2, 400), 9);
        _ = ledger.ConsumeFeed(new SpoolPosition(2, 400));
        Assert.Equal((900, 0, 900), (ledger.PendingBytes, ledger.FeedLagBytes, ledger.UsedBytes));
        Assert.False(ledger.TryReserve(101));
    }

    [Fact]
    public void Without_a_feed_InfluxDB_alone_decides_and_the_feed_cannot_be_consumed()
    {
        var ledger = new SpoolLedger(1000);
        ledger.Restore(new RecoveredSpool(new SpoolPosition(1, 0), [], 0, 0, [], 1));
        ledger.SegmentStarted(1);
        Assert.True(ledger.TryReserve(500));
        ledger.Commit(1, 500, 500, 5, T0);
        ledger.SegmentStarted(2);

        Assert.False(ledger.FeedOn);
        Assert.Equal([1L], ledger.Acknowledge(new SpoolPosition(2, 0), 500, 5).Segments);
        Assert.Equal((0, 0L), (ledger.UsedBytes, ledger.FeedLagLines));
        Assert.Null(ledger.Positions.Feed);
        Assert.Throws<InvalidOperationException>(() => ledger.ConsumeFeed(new SpoolPosition(2, 0)));
    }

    [Fact]
    public void The_feed_cannot_consume_beyond_what_it_has_read_and_going_back_changes_nothing()
    {
        var ledger = TwoSegments();
        ledger.FeedRead(new SpoolPosition(1, 500), 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => ledger.ConsumeFeed(new SpoolPosition(2, 100)));

        _ = ledger.ConsumeFeed(new SpoolPosition(1, 300));
        var back = ledger.ConsumeFeed(new SpoolPosition(1, 100));
        Assert.Empty(back.Segments);
        Assert.Equal(new SpoolPosition(1, 300), ledger.FeedConsumed);
        Assert.Equal(600, ledger.FeedLagBytes);
    }

    [Fact]
    public void The_lag_in_lines_drops_by_whole_reads_and_the_bytes_exactly()
    {
        var ledger = TwoSegments();
        Assert.Equal((900, 9), (ledger.FeedLagBytes, ledger.FeedLagLines));
        ledger.FeedRead(new SpoolPosition(1, 500), 5);
        ledger.FeedRead(new SpoolPosition(2, 400), 4);

        // Inside the first read: the bytes follow at once, its lines when its end is consumed.
        _ = ledger.ConsumeFeed(new SpoolPosition(1, 200));
        Assert.Equal((700, 9), (ledger.FeedLagBytes, ledger.FeedLagLines));
        _ = ledger.ConsumeFeed(new SpoolPosition(1, 500));
        Assert.Equal((400, 4), (ledger.FeedLagBytes, ledger.FeedLagLines));
        _ = ledger.ConsumeFeed(new SpoolPosition(2, 400));
        Assert.Equal((0, 0), (ledger.FeedLagBytes, ledger.FeedLagLines));
    }

    [Fact]
    public void Each_consumer_has_its_own_oldest_age()
    {
        var ledger = TwoSegments();
        Assert.Equal((TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)), (ledger.OldestPendingAge(T0 + 10_000), ledger.FeedOldestAge(T0 + 10_000)));

        _ = ledger.Acknowledge(new SpoolPosition(2, 0), 500, 5);
        Assert.Equal((TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(10)), (ledger.OldestPendingAge(T0 + 10_000), ledger.FeedOldestAge(T0 + 10_000)));

        ledger.FeedRead(new SpoolPosition(2, 400), 9);
        _ = ledger.ConsumeFeed(new SpoolPosition(2, 400));
        Assert.Equal((TimeSpan.FromSeconds(9), TimeSpan.Zero), (ledger.OldestPendingAge(T0 + 10_000), ledger.FeedOldestAge(T0 + 10_000)));

        _ = ledger.Acknowledge(new SpoolPosition(2, 400), 400, 4);
        Assert.Equal(TimeSpan.Zero, ledger.OldestPendingAge(T0 + 10_000));
    }

    [Fact]
    public void The_checkpoint_to_save_holds_both_positions()
    {
        var ledger = TwoSegments();
        _ = ledger.Acknowledge(new SpoolPosition(2, 100), 600, 6);
        ledger.FeedRead(new SpoolPosition(1, 500), 5);
        _ = ledger.ConsumeFeed(new SpoolPosition(1, 300));
        Assert.Equal(new SavedPositions(new SpoolPosition(2, 100), new SpoolPosition(1, 300)), ledger.Positions);
    }

    [Fact]
    public void Restoring_takes_over_the_feeds_position_and_lag()
    {
        var ledger = new SpoolLedger(1 << 20);
        ledger.Restore(new RecoveredSpool(new SpoolPosition(4, 100), [(3, 400), (4, 100)], 0, 0, [new AgeMark(new SpoolPosition(3, 400), T0)], 5,
            FeedConsumed: new SpoolPosition(3, 40), FeedLines: 7, FeedBytes: 460));

        Assert.True(ledger.FeedOn);
        Assert.Equal((new SpoolPosition(3, 40), 460L, 7L, 460L), (ledger.FeedConsumed, ledger.FeedLagBytes, ledger.FeedLagLines, ledger.UsedBytes));
        Assert.Equal(TimeSpan.FromSeconds(2), ledger.FeedOldestAge(T0 + 2000));
        Assert.Equal(TimeSpan.Zero, ledger.OldestPendingAge(T0 + 2000));
    }
}
