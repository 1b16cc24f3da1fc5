using Telemetry.Storage.Spool;

namespace Telemetry.UnitTests.Storage.Spool;

/// <summary>The spool's bookkeeping without any file: reservations, commits, acknowledgements and what they free.</summary>
public class SpoolLedgerTests
{
    const long T0 = 1_795_860_000_000;

    static SpoolLedger Empty(long capacity)
    {
        var ledger = new SpoolLedger(capacity);
        ledger.Restore(new RecoveredSpool(new SpoolPosition(1, 0), [], 0, 0, [], 1));
        ledger.SegmentStarted(1);
        return ledger;
    }

    [Fact]
    public void Reserved_room_counts_against_the_capacity_until_it_is_committed_or_given_back()
    {
        var ledger = Empty(capacity: 1000);
        Assert.True(ledger.TryReserve(600));
        Assert.False(ledger.TryReserve(500));
        Assert.Equal(600, ledger.UsedBytes);
        Assert.Equal(0, ledger.PendingBytes);

        ledger.Commit(1, 600, 600, 3, T0);
        Assert.Equal((600, 600, 3), (ledger.UsedBytes, ledger.PendingBytes, ledger.PendingLines));
        Assert.False(ledger.TryReserve(500));

        Assert.True(ledger.TryReserve(400));
        ledger.CancelReservation(400);
        Assert.Equal(600, ledger.UsedBytes);
    }

    [Fact]
    public void Derived_lines_use_their_reserve_above_a_full_spool_and_no_more()
    {
        var ledger = Empty(capacity: 1000);
        Assert.True(ledger.TryReserve(1000));
        Assert.False(ledger.TryReserve(50));
        Assert.True(ledger.TryReserve(60, headroom: 100));
        Assert.True(ledger.TryReserve(40, headroom: 100));
        Assert.False(ledger.TryReserve(1, headroom: 100));
    }

    [Fact]
    public void A_record_larger_than_the_capacity_still_fits_into_an_empty_spool()
    {
        var ledger = Empty(capacity: 1000);
        Assert.True(ledger.TryReserve(5000));
        Assert.False(ledger.TryReserve(1));
    }

    [Fact]
    public void Readers_see_only_committed_lengths_and_the_next_segment()
    {
        var ledger = Empty(capacity: 1 << 20);
        Assert.True(ledger.TryReserve(300));
        Assert.Equal((true, 0L, (long?)null), ledger.Locate(1));

        ledger.Commit(1, 300, 300, 1, T0);
        ledger.SegmentStarted(2);
        Assert.Equal((true, 300L, (long?)2), ledger.Locate(1));
        Assert.Equal((true, 0L, (long?)null), ledger.Locate(2));
        Assert.Equal((false, 0L, (long?)1), ledger.Locate(0));
    }

    [Fact]
    public void Acknowledging_releases_the_segments_wholly_behind_it_and_says_when_there_is_room_again()
    {
        var ledger = Empty(capacity: 1000);
        Assert.True(ledger.TryReserve(500));
        ledger.Commit(1, 500, 500, 5, T0);
        ledger.SegmentStarted(2);
        Assert.True(ledger.TryReserve(460));
        ledger.Commit(2, 460, 460, 4, T0 + 1000);

        // Part of segment 1: nothing to delete, and the 910 bytes left are not below 90 % of the capacity.
        var partial = ledger.Acknowledge(new SpoolPosition(1, 50), 50, 1);
        Assert.Empty(partial.Segments);
        Assert.False(partial.RoomAgain);

        // Into segment 2: segment 1 goes, 460 bytes are left.
        var into = ledger.Acknowledge(new SpoolPosition(2, 0), 450, 4);
        Assert.Equal([1L], into.Segments);
        Assert.True(into.RoomAgain);
        Assert.Equal((460, 4, new SpoolPosition(2, 0)), (ledger.PendingBytes, ledger.PendingLines, ledger.Acknowledged));
        Assert.Equal((false, 0L, (long?)2), ledger.Locate(1));

        var all = ledger.Acknowledge(new SpoolPosition(2, 460), 460, 4);
        Assert.Empty(all.Segments);
        Assert.Equal((0, 0), (ledger.PendingBytes, ledger.PendingLines));
    }

    [Fact]
    public void The_oldest_age_follows_the_acknowledged_position()
    {
        var ledger = Empty(capacity: 1 << 20);
        Assert.Equal(TimeSpan.Zero, ledger.OldestPendingAge(T0));

        for (var i = 0; i < 3; i++)
        {
            Assert.True(ledger.TryReserve(100));
            ledger.Commit(1, 100 * (i + 1), 100, 1, T0 + (i * 1000));
        }

        Assert.Equal(TimeSpan.FromSeconds(10), ledger.OldestPendingAge(T0 + 10_000));
        _ = ledger.Acknowledge(new SpoolPosition(1, 100), 100, 1);
        Assert.Equal(TimeSpan.FromSeconds(9), ledger.OldestPendingAge(T0 + 10_000));
        _ = ledger.Acknowledge(new SpoolPosition(1, 300), 200, 2);
        Assert.Equal(TimeSpan.Zero, ledger.OldestPendingAge(T0 + 10_000));
    }

    [Fact]
    public void Appends_closer_than_100_ms_to_the_last_mark_get_no_mark_of_their_own()
    {
        var ledger = Empty(capacity: 1 << 20);
        Assert.True(ledger.TryReserve(300));
        ledger.Commit(1, 100, 100, 1, T0);
        ledger.Commit(1, 200, 100, 1, T0 + 50);
        ledger.Commit(1, 300, 100, 1, T0 + 150);

        // Past the first record, the oldest mark left is the third one's (the second has none): 1000 - 150 ms.
        _ = ledger.Acknowledge(new SpoolPosition(1, 100), 100, 1);
        Assert.Equal(TimeSpan.FromMilliseconds(850), ledger.OldestPendingAge(T0 + 1000));
    }

    [Fact]
    public void Restoring_takes_over_what_recovery_found()
    {
        var ledger = new SpoolLedger(1 << 20);
        ledger.Restore(new RecoveredSpool(new SpoolPosition(3, 40), [(3, 400), (4, 100)], 7, 460, [new AgeMark(new SpoolPosition(3, 400), T0)], 5));

        Assert.Equal((460, 7, new SpoolPosition(3, 40)), (ledger.PendingBytes, ledger.PendingLines, ledger.Acknowledged));
        Assert.Equal((true, 400L, (long?)4), ledger.Locate(3));
        Assert.Equal(TimeSpan.FromSeconds(2), ledger.OldestPendingAge(T0 + 2000));
    }
}
