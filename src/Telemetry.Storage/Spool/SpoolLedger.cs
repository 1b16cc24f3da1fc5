namespace Telemetry.Storage.Spool;

/// <summary>
/// The spool's bookkeeping, in memory and without I/O: how far each segment is committed (written and fsynced), the
/// position up to which InfluxDB has acknowledged, the bytes and lines between the two, the room reserved by appends
/// not yet written, and marks for the age of the oldest unacknowledged reading. Every role reads and changes it under
/// one lock: the appender commits, readers find what is committed, acknowledgements release.
/// </summary>
internal sealed class SpoolLedger(long capacity)
{
    /// <summary>At most one age mark per this many milliseconds of appends.</summary>
    const long MarkEveryMs = 100;

    readonly Lock gate = new();
    readonly SortedDictionary<long, long> segments = [];
    readonly Queue<AgeMark> ageMarks = new();
    SpoolPosition acknowledged;
    long pendingBytes;
    long pendingLines;
    long reservedBytes;
    long lastMarkMs;

    /// <summary>Bytes committed and not yet acknowledged.</summary>
    public long PendingBytes
    {
        get { lock (gate) { return pendingBytes; } }
    }

    /// <summary>Lines committed and not yet acknowledged.</summary>
    public long PendingLines
    {
        get { lock (gate) { return pendingLines; } }
    }

    /// <summary>Pending bytes plus the room reserved by appends on their way to the disk.</summary>
    public long UsedBytes
    {
        get { lock (gate) { return pendingBytes + reservedBytes; } }
    }

    public SpoolPosition Acknowledged
    {
        get { lock (gate) { return acknowledged; } }
    }

    /// <summary>Takes over what recovery found on disk.</summary>
    public void Restore(RecoveredSpool recovered)
    {
        ArgumentNullException.ThrowIfNull(recovered);
        lock (gate)
        {
            acknowledged = recovered.Acknowledged;
            pendingLines = recovered.Lines;
            pendingBytes = recovered.Bytes;
            foreach (var (index, length) in recovered.Segments)
            {
                segments[index] = length;
            }

            foreach (var mark in recovered.AgeMarks)
            {
                ageMarks.Enqueue(mark);
            }
        }
    }

    /// <summary>
    /// Reserves room for a record of <paramref name="size"/> bytes; false when it would exceed the capacity. A record
    /// always fits into an empty spool, however large.
    /// </summary>
    public bool TryReserve(int size)
    {
        lock (gate)
        {
            var used = pendingBytes + reservedBytes;
            if (used + size > capacity && used > 0)
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
            // Bounded during a long outage, and enough for the oldest-age gauge.
            if (ageMarks.Count == 0 || nowMs - lastMarkMs >= MarkEveryMs)
            {
                ageMarks.Enqueue(new AgeMark(new SpoolPosition(segment, length), nowMs));
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
            long? next = null;
            foreach (var index in segments.Keys)
            {
                if (index > segment)
                {
                    next = index;
                    break;
                }
            }

            return (known, committed, next);
        }
    }

    /// <summary>
    /// InfluxDB took everything up to <paramref name="end"/>, <paramref name="bytes"/> and <paramref name="lines"/> of
    /// it since the last acknowledgement. Returns the segments now wholly behind the acknowledged position, which the
    /// caller deletes, and whether the spool has dropped below 90 % of its capacity.
    /// </summary>
    public Release Acknowledge(SpoolPosition end, long bytes, long lines)
    {
        lock (gate)
        {
            acknowledged = end;
            pendingBytes -= bytes;
            pendingLines -= lines;
            DropAgeMarksUpTo(acknowledged);
            // The one place that decides what may be deleted: the oldest position still needed by a consumer.
            var released = ReleaseSegmentsBefore(acknowledged.Segment);
            return new Release(released, pendingBytes + reservedBytes < capacity * 9 / 10);
        }
    }

    /// <summary>How long the oldest unacknowledged reading has waited at <paramref name="nowMs"/> (zero when none).</summary>
    public TimeSpan OldestPendingAge(long nowMs)
    {
        lock (gate)
        {
            DropAgeMarksUpTo(acknowledged);
            if (ageMarks.Count == 0 || pendingLines == 0)
            {
                return TimeSpan.Zero;
            }

            return TimeSpan.FromMilliseconds(Math.Max(0, nowMs - ageMarks.Peek().AppendedAtMs));
        }
    }

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

    void DropAgeMarksUpTo(SpoolPosition position)
    {
        while (ageMarks.Count > 0 && ageMarks.Peek().End <= position)
        {
            ageMarks.Dequeue();
        }
    }

    /// <summary>What an acknowledgement freed: segments to delete, and whether appends may stop waiting for room.</summary>
    public sealed record Release(IReadOnlyList<long> Segments, bool RoomAgain);
}

/// <summary>Records up to <paramref name="End"/> were appended at <paramref name="AppendedAtMs"/> or later.</summary>
internal readonly record struct AgeMark(SpoolPosition End, long AppendedAtMs);
