namespace Telemetry.Storage.Spool;

/// <summary>
/// The spool's bookkeeping, in memory and without I/O: how far each segment is committed (written and fsynced), the
/// position up to which InfluxDB has acknowledged and — when the grains are fed from the spool — the position up to
/// which the grain feed has consumed, what lies after each, the room reserved by appends not yet written, and marks for
/// the age of the oldest record a consumer has not taken. Every role reads and changes it under one lock: the appender
/// commits, readers find what is committed, acknowledgements and feed consumption release.
/// <para>
/// Two consumers: a segment is released only when it lies wholly behind both (<see cref="ReleaseSegmentsBefore"/>,
/// the one place that decides), and the bytes that make the spool full are counted from the older of the two.
/// Without a grain feed (the spool used alone) InfluxDB is the only consumer.
/// </para>
/// </summary>
internal sealed class SpoolLedger(long capacity)
{
    /// <summary>At most one age mark per this many milliseconds of appends.</summary>
    const long MarkEveryMs = 100;

    readonly Lock gate = new();
    readonly SortedDictionary<long, long> segments = [];
    // Age marks in spool order; those behind both consumers are dropped from the front (ageHead), the newer consumer
    // finds its first by binary search.
    readonly List<AgeMark> ageMarks = [];
    // What the feed has read and not yet consumed, one mark per read: lets the lag in lines follow consumption.
    readonly Queue<FeedReadMark> feedReads = new();
    int ageHead;
    SpoolPosition acknowledged;
    long pendingBytes;
    long pendingLines;
    long reservedBytes;
    long lastMarkMs;
    bool feedOn;
    SpoolPosition feedConsumed;
    SpoolPosition feedRead;
    long feedBytes;
    long feedLines;

    /// <summary>Bytes committed and not yet acknowledged by InfluxDB.</summary>
    public long PendingBytes
    {
        get { lock (gate) { return pendingBytes; } }
    }

    /// <summary>Lines committed and not yet acknowledged by InfluxDB.</summary>
    public long PendingLines
    {
        get { lock (gate) { return pendingLines; } }
    }

    /// <summary>
    /// Bytes after the older consumer's position plus the room reserved by appends on their way to the disk: what
    /// counts against the capacity.
    /// </summary>
    public long UsedBytes
    {
        get { lock (gate) { return Retained + reservedBytes; } }
    }

    public SpoolPosition Acknowledged
    {
        get { lock (gate) { return acknowledged; } }
    }

    /// <summary>True when the grains are fed from the spool (a second consumer).</summary>
    public bool FeedOn
    {
        get { lock (gate) { return feedOn; } }
    }

    /// <summary>The feed's consumed position (meaningful when <see cref="FeedOn"/>).</summary>
    public SpoolPosition FeedConsumed
    {
        get { lock (gate) { return feedConsumed; } }
    }

    /// <summary>Bytes committed and not yet consumed by the grain feed (0 without a feed).</summary>
    public long FeedLagBytes
    {
        get { lock (gate) { return feedBytes; } }
    }

    /// <summary>Lines committed and not yet consumed by the grain feed (0 without a feed).</summary>
    public long FeedLagLines
    {
        get { lock (gate) { return feedLines; } }
    }

    /// <summary>What the checkpoint file is to hold now.</summary>
    public SavedPositions Positions
    {
        get { lock (gate) { return new SavedPositions(acknowledged, feedOn ? feedConsumed : null); } }
    }

    /// <summary>Bytes kept for the older consumer (under the lock).</summary>
    long Retained => feedOn ? Math.Max(pendingBytes, feedBytes) : pendingBytes;

    /// <summary>The position before which no consumer needs anything (under the lock).</summary>
    SpoolPosition Older => feedOn && feedConsumed < acknowledged ? feedConsumed : acknowledged;

    /// <summary>Takes over what recovery found on disk; the feed is on when recovery restored a feed position.</summary>
    public void Restore(RecoveredSpool recovered)
    {
        ArgumentNullException.ThrowIfNull(recovered);
        lock (gate)
        {
            acknowledged = recovered.Acknowledged;
            pendingLines = recovered.Lines;
            pendingBytes = recovered.Bytes;
            feedOn = recovered.FeedConsumed is not null;
            feedConsumed = feedRead = recovered.FeedConsumed ?? default;
            feedLines = recovered.FeedLines;
            feedBytes = recovered.FeedBytes;
            foreach (var (index, length) in recovered.Segments)
            {
                segments[index] = length;
            }

            ageMarks.AddRange(recovered.AgeMarks);
        }
    }

    /// <summary>
    /// Reserves room for a record of <paramref name="size"/> bytes; false when it would exceed the capacity plus
    /// <paramref name="headroom"/> (the reserve derived lines may use). A record always fits into an empty spool,
    /// however large.
    /// </summary>
    public bool TryReserve(int size, long headroom = 0)
    {
        lock (gate)
        {
            var used = Retained + reservedBytes;
            if (used + size > capacity + headroom && used > 0)
            {
                return false;
            }

            reservedBytes += size;
            return true;
        }
    }

    /// <summary>Gives back room reserved by appends that were not written.</summary>
    public void CancelReservation(long size)
    {
        lock (gate)
        {
            reservedBytes -= size;
        }
    }

    /// <summary>The appender started a new, empty segment.</summary>
    public void SegmentStarted(long index)
    {
        lock (gate)
        {
            segments[index] = 0;
        }
    }

    /// <summary>
    /// A group of <paramref name="bytes"/> (reserved before) holding <paramref name="lines"/> lines is durable, and
    /// <paramref name="segment"/> now ends at <paramref name="length"/>: readers may read up to there.
    /// </summary>
    public void Commit(long segment, long length, long bytes, long lines, long nowMs)
    {
        lock (gate)
        {
            segments[segment] = length;
            pendingBytes += bytes;
            pendingLines += lines;
            if (feedOn)
            {
                feedBytes += bytes;
                feedLines += lines;
            }

            // Bounded during a long outage, and enough for the oldest-age gauges.
            if (ageMarks.Count == ageHead || nowMs - lastMarkMs >= MarkEveryMs)
            {
                ageMarks.Add(new AgeMark(new SpoolPosition(segment, length), nowMs));
                lastMarkMs = nowMs;
            }

            reservedBytes -= bytes;
        }
    }

    /// <summary>
    /// What a reader at <paramref name="segment"/> may read: whether the segment is known, how far it is committed, and
    /// the segment after it (null when it is the last one).
    /// </summary>
    public (bool Known, long Committed, long? Next) Locate(long segment)
    {
        lock (gate)
        {
            var known = segments.TryGetValue(segment, out var committed);
            return (known, committed, NextAfter(segment));
        }
    }

    /// <summary>Under the lock: the first segment after <paramref name="segment"/>, or null.</summary>
    long? NextAfter(long segment)
    {
        foreach (var index in segments.Keys)
        {
            if (index > segment)
            {
                return index;
            }
        }

        return null;
    }

    /// <summary>
    /// InfluxDB took everything up to <paramref name="end"/>, <paramref name="bytes"/> and <paramref name="lines"/> of
    /// it since the last acknowledgement. Returns the segments now wholly behind both consumers, which the caller
    /// deletes, and whether the spool has dropped below 90 % of its capacity.
    /// </summary>
    public Release Acknowledge(SpoolPosition end, long bytes, long lines)
    {
        lock (gate)
        {
            acknowledged = end;
            pendingBytes -= bytes;
            pendingLines -= lines;
            return ReleaseBehindBoth();
        }
    }

    /// <summary>
    /// The grain feed read records up to <paramref name="end"/> holding <paramref name="lines"/> lines (one call per
    /// read). Consumption is counted against these marks.
    /// </summary>
    public void FeedRead(SpoolPosition end, long lines)
    {
        lock (gate)
        {
            feedReads.Enqueue(new FeedReadMark(end, lines));
            feedRead = end;
        }
    }

    /// <summary>
    /// The grains have consumed (applied and saved) everything before <paramref name="position"/>, a record end the feed
    /// has read. A position at or before the consumed one changes nothing. Returns what may be deleted now, as
    /// <see cref="Acknowledge"/> does.
    /// <para>
    /// Lines are counted per read: a position inside a read (not at its end) moves the consumed position and the bytes
    /// at once, and subtracts that read's lines when its end is consumed (the lag in lines errs high, never low).
    /// </para>
    /// </summary>
    /// <exception cref="InvalidOperationException">The spool has no grain feed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="position"/> lies beyond what the feed has read.</exception>
    public Release ConsumeFeed(SpoolPosition position)
    {
        lock (gate)
        {
            if (!feedOn)
            {
                throw new InvalidOperationException("this spool has no grain feed");
            }

            if (position > feedRead)
            {
                throw new ArgumentOutOfRangeException(nameof(position), position,
                    $"the grain feed cannot consume beyond what it has read ({feedRead})");
            }

            if (position <= feedConsumed)
            {
                return new Release([], false);
            }

            // The end of a segment the appender has left is the start of the next one: so that the segment can go.
            if (segments.TryGetValue(position.Segment, out var length) && position.Offset == length
                && NextAfter(position.Segment) is { } next)
            {
                position = new SpoolPosition(next, 0);
            }

            feedBytes -= BytesBetween(feedConsumed, position);
            feedConsumed = position;
            while (feedReads.Count > 0 && feedReads.Peek().End <= position)
            {
                feedLines -= feedReads.Dequeue().Lines;
            }

            return ReleaseBehindBoth();
        }
    }

    /// <summary>
    /// The grain feed reads again from its consumed position: what it had read after it counts as not read (the marks
    /// of those reads are dropped; the records are still counted in the feed's lag, so nothing is counted twice when
    /// they are read again). Returns the consumed position, where the feed's reader is to continue.
    /// </summary>
    /// <exception cref="InvalidOperationException">The spool has no grain feed.</exception>
    public SpoolPosition RewindFeed()
    {
        lock (gate)
        {
            if (!feedOn)
            {
                throw new InvalidOperationException("this spool has no grain feed");
            }

            // The marks are in read order and the consumed position is at a read's end (the feeder consumes whole
            // batches), so every mark still queued lies after it.
            feedReads.Clear();
            feedRead = feedConsumed;
            return feedConsumed;
        }
    }

    /// <summary>How long the oldest record not acknowledged by InfluxDB has waited at <paramref name="nowMs"/> (zero when none).</summary>
    public TimeSpan OldestPendingAge(long nowMs)
    {
        lock (gate)
        {
            return pendingLines == 0 ? TimeSpan.Zero : AgeAfter(acknowledged, nowMs);
        }
    }

    /// <summary>How long the oldest record not consumed by the grain feed has waited at <paramref name="nowMs"/> (zero when none).</summary>
    public TimeSpan FeedOldestAge(long nowMs)
    {
        lock (gate)
        {
            return !feedOn || feedLines == 0 ? TimeSpan.Zero : AgeAfter(feedConsumed, nowMs);
        }
    }

    /// <summary>Under the lock: drops the age marks behind both consumers and releases the segments behind both.</summary>
    Release ReleaseBehindBoth()
    {
        var older = Older;
        DropAgeMarksUpTo(older);
        var released = ReleaseSegmentsBefore(older.Segment);
        return new Release(released, Retained + reservedBytes < capacity * 9 / 10);
    }

    /// <summary>
    /// The one place that decides what may be deleted: the segments before <paramref name="segment"/>, which the
    /// callers pass as the segment of the older consumer's position (<see cref="Older"/>).
    /// </summary>
    List<long> ReleaseSegmentsBefore(long segment)
    {
        var released = new List<long>();
        foreach (var index in segments.Keys)
        {
            if (index >= segment)
            {
                break;
            }

            released.Add(index);
        }

        foreach (var index in released)
        {
            segments.Remove(index);
        }

        return released;
    }

    /// <summary>
    /// Under the lock: the bytes of the records between <paramref name="from"/> and <paramref name="to"/>
    /// (<paramref name="from"/> ≤ <paramref name="to"/>), from the committed lengths of the segments between them, which
    /// are all kept (neither is behind the feed's consumed position).
    /// </summary>
    long BytesBetween(SpoolPosition from, SpoolPosition to)
    {
        if (from.Segment == to.Segment)
        {
            return to.Offset - from.Offset;
        }

        var bytes = to.Offset;
        foreach (var (index, length) in segments)
        {
            if (index == from.Segment)
            {
                bytes += length - from.Offset;
            }
            else if (index > from.Segment && index < to.Segment)
            {
                bytes += length;
            }
        }

        return bytes;
    }

    TimeSpan AgeAfter(SpoolPosition position, long nowMs)
    {
        // The first mark after the position: binary search over the marks still kept, which are in spool order.
        int low = ageHead, high = ageMarks.Count;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (ageMarks[middle].End <= position)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low == ageMarks.Count ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Max(0, nowMs - ageMarks[low].AppendedAtMs));
    }

    void DropAgeMarksUpTo(SpoolPosition position)
    {
        while (ageHead < ageMarks.Count && ageMarks[ageHead].End <= position)
        {
            ageHead++;
        }

        // Compact now and then rather than shifting the list at every acknowledgement.
        if (ageHead > 1024 && ageHead * 2 > ageMarks.Count)
        {
            ageMarks.RemoveRange(0, ageHead);
            ageHead = 0;
        }
    }

    /// <summary>What an acknowledgement freed: segments to delete, and whether appends may stop waiting for room.</summary>
    public sealed record Release(IReadOnlyList<long> Segments, bool RoomAgain);

    /// <summary>One read of the grain feed: up to where, and how many lines.</summary>
    readonly record struct FeedReadMark(SpoolPosition End, long Lines);
}

/// <summary>Records up to <paramref name="End"/> were appended at <paramref name="AppendedAtMs"/> or later.</summary>
internal readonly record struct AgeMark(SpoolPosition End, long AppendedAtMs);
