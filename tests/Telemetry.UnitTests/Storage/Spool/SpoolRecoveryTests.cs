using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Storage.Spool;

namespace Telemetry.UnitTests.Storage.Spool;

/// <summary>Recovery on segment files written by hand with <see cref="SpoolRecord"/>, in a temp folder per test.</summary>
public sealed class SpoolRecoveryTests : IDisposable
{
    const long T0 = 1_795_860_000_000;

    readonly string directory = Directory.CreateTempSubdirectory("telemetry-spool-recovery-").FullName;
    readonly SpoolSegments segments;

    public SpoolRecoveryTests() => segments = new SpoolSegments(directory);

    /// <summary>A record of <paramref name="lines"/> lines, appended at T0 + <paramref name="atMs"/>.</summary>
    static byte[] Record(int lines, long atMs = 0)
    {
        var payload = SpoolRecord.EncodePayload([.. Enumerable.Range(0, lines).Select(i => $"m v={i} {T0 + i}")]);
        var record = new byte[SpoolRecord.HeaderSize + payload.Length];
        SpoolRecord.Write(record, payload, lines, T0 + atMs);
        return record;
    }

    long WriteSegment(long index, params byte[][] parts)
    {
        var bytes = parts.SelectMany(p => p).ToArray();
        File.WriteAllBytes(segments.PathOf(index), bytes);
        return bytes.Length;
    }

    SegmentScan Scan(long index, long countFrom = 0)
    {
        using var handle = segments.OpenForRecovery(index);
        return SpoolRecovery.Scan(handle, index, countFrom);
    }

    [Fact]
    public void A_scan_counts_the_records_after_the_counting_position()
    {
        var (a, b, c) = (Record(2), Record(3), Record(1));
        WriteSegment(1, a, b, c);

        var all = Scan(1);
        Assert.Equal((a.Length + b.Length + c.Length, 6L), (all.ValidEnd, all.Lines));
        Assert.Equal(all.Length, all.ValidEnd);

        var afterFirst = Scan(1, countFrom: a.Length);
        Assert.Equal((4L, (long)(b.Length + c.Length)), (afterFirst.Lines, afterFirst.Bytes));
    }

    [Fact]
    public void A_scan_stops_at_a_header_that_promises_more_than_the_file_holds()
    {
        var intact = Record(2);
        var torn = Record(4)[..30]; // the header and 10 bytes of the payload: a crash in the middle of the write
        WriteSegment(1, intact, torn);

        var scan = Scan(1);
        Assert.Equal((intact.Length, intact.Length + 30L, 2L), (scan.ValidEnd, scan.Length, scan.Lines));
    }

    [Fact]
    public void A_scan_stops_at_a_record_whose_checksum_fails()
    {
        var (a, b, c) = (Record(1), Record(1), Record(1));
        b[^1] ^= 0x01;
        WriteSegment(1, a, b, c);

        Assert.Equal(a.Length, Scan(1).ValidEnd);
    }

    [Fact]
    public void A_scan_stops_at_zeros_after_the_last_record()
    {
        var a = Record(1);
        WriteSegment(1, a, new byte[100]);

        Assert.Equal(a.Length, Scan(1).ValidEnd);
    }

    [Fact]
    public void A_scan_marks_the_first_record_after_the_counting_position_with_its_append_time()
    {
        var (a, b) = (Record(1, atMs: 0), Record(1, atMs: 500));
        WriteSegment(1, a, b);

        var mark = Assert.Single(Scan(1, countFrom: a.Length).AgeMarks);
        Assert.Equal(new AgeMark(new SpoolPosition(1, a.Length + b.Length), T0 + 500), mark);
    }

    [Fact]
    public void Recovery_cuts_off_a_torn_tail_and_continues_in_a_new_segment()
    {
        var intact = Record(3);
        WriteSegment(1, intact, Record(2)[..25]);

        var recovered = SpoolRecovery.Recover(segments, SpoolCheckpoint.Start, NullLogger.Instance);

        Assert.Equal(intact.Length, new FileInfo(segments.PathOf(1)).Length);
        Assert.Equal([(1L, (long)intact.Length)], recovered.Segments);
        Assert.Equal((3L, (long)intact.Length, 2L), (recovered.Lines, recovered.Bytes, recovered.NextSegment));
        Assert.Equal(SpoolCheckpoint.Start, recovered.Acknowledged);
    }

    [Fact]
    public void Recovery_deletes_segments_before_the_checkpoint_and_counts_only_what_follows_it()
    {
        var (a, b) = (Record(2), Record(5));
        WriteSegment(3, a);
        WriteSegment(4, a, b);
        WriteSegment(5, b);

        var recovered = SpoolRecovery.Recover(segments, new SpoolPosition(4, a.Length), NullLogger.Instance);

        Assert.False(File.Exists(segments.PathOf(3)));
        Assert.Equal([4L, 5L], segments.List());
        Assert.Equal(new SpoolPosition(4, a.Length), recovered.Acknowledged);
        Assert.Equal((10L, 2L * b.Length, 6L), (recovered.Lines, recovered.Bytes, recovered.NextSegment));
    }

    [Fact]
    public void Recovery_starts_from_the_oldest_segment_when_the_checkpoint_names_one_that_is_gone()
    {
        var a = Record(2);
        WriteSegment(7, a);
        WriteSegment(8, a);

        // A checkpoint of segment 6 at some offset: segment 6 was deleted, so segment 7 is read from its start.
        var recovered = SpoolRecovery.Recover(segments, new SpoolPosition(6, 123), NullLogger.Instance);

        Assert.Equal(new SpoolPosition(7, 0), recovered.Acknowledged);
        Assert.Equal((4L, 9L), (recovered.Lines, recovered.NextSegment));
    }

    [Fact]
    public void Recovery_of_an_empty_folder_appends_after_the_checkpoint_segment()
    {
        Assert.Equal(1, SpoolRecovery.Recover(segments, SpoolCheckpoint.Start, NullLogger.Instance).NextSegment);
        Assert.Equal(9, SpoolRecovery.Recover(segments, new SpoolPosition(9, 0), NullLogger.Instance).NextSegment);
    }

    [Fact]
    public void Recovery_with_a_feed_keeps_the_segments_after_the_older_position_and_counts_for_each_consumer()
    {
        var (a, b) = (Record(2), Record(5));
        WriteSegment(3, a);
        WriteSegment(4, a, b);
        WriteSegment(5, b);

        // InfluxDB has everything up to segment 5; the grains have consumed up to the end of segment 4's first record.
        var recovered = SpoolRecovery.Recover(segments, new SpoolPosition(5, b.Length), new SpoolPosition(4, a.Length), NullLogger.Instance);

        Assert.Equal([4L, 5L], segments.List());
        Assert.Equal((new SpoolPosition(5, b.Length), 0L, 0L), (recovered.Acknowledged, recovered.Lines, recovered.Bytes));
        Assert.Equal((new SpoolPosition(4, a.Length), 10L, 2L * b.Length), (recovered.FeedConsumed, recovered.FeedLines, recovered.FeedBytes));
        Assert.Equal(6, recovered.NextSegment);
    }

    [Fact]
    public void Recovery_counts_for_InfluxDB_when_it_is_the_older_consumer()
    {
        var (a, b) = (Record(2), Record(5));
        WriteSegment(1, a, b);
        WriteSegment(2, b);

        var recovered = SpoolRecovery.Recover(segments, new SpoolPosition(1, a.Length), new SpoolPosition(2, b.Length), NullLogger.Instance);

        Assert.Equal((10L, 2L * b.Length), (recovered.Lines, recovered.Bytes));
        Assert.Equal((new SpoolPosition(2, b.Length), 0L, 0L), (recovered.FeedConsumed, recovered.FeedLines, recovered.FeedBytes));
    }

    [Fact]
    public void A_feed_position_in_a_deleted_segment_resumes_at_the_next_one()
    {
        var a = Record(2);
        WriteSegment(7, a);

        var recovered = SpoolRecovery.Recover(segments, new SpoolPosition(7, a.Length), new SpoolPosition(6, 99), NullLogger.Instance);

        Assert.Equal((new SpoolPosition(7, 0), 2L), (recovered.FeedConsumed, recovered.FeedLines));
    }

    [Fact]
    public void The_age_marks_start_after_the_older_consumer()
    {
        var (a, b) = (Record(1, atMs: 0), Record(1, atMs: 500));
        WriteSegment(1, a, b);

        var recovered = SpoolRecovery.Recover(segments, new SpoolPosition(1, a.Length + b.Length), new SpoolPosition(1, 0), NullLogger.Instance);

        Assert.Equal(new AgeMark(new SpoolPosition(1, a.Length), T0), recovered.AgeMarks[0]);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
