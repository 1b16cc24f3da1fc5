using Microsoft.Win32.SafeHandles;

namespace Telemetry.Storage.Spool;

/// <summary>
/// A cursor over the spool for one consumer: reads records in spool order from its position, never past what the
/// <see cref="SpoolLedger"/> says is committed, and moves on by itself. Reading does not acknowledge: a consumer that
/// restarts starts again from its acknowledged position. Used by one consumer at a time; the spool has two of them,
/// InfluxDB's drainer (<see cref="TryRead"/>: lines in batches) and the grain feed (<see cref="TryReadEntries"/>: one
/// entry per record).
/// </summary>
internal sealed class SpoolReader(SpoolLedger ledger, SpoolSegments segments, AsyncSignal committed) : IDisposable
{
    const int ReadChunkBytes = 4 << 20;

    SpoolPosition position;
    long handleSegment = -1;
    SafeFileHandle? handle;
    byte[] buffer = new byte[ReadChunkBytes];
    long releasedBefore;

    public SpoolPosition Position => position;

    /// <summary>Continues from <paramref name="start"/> (after recovery: the consumer's saved position).</summary>
    public void MoveTo(SpoolPosition start) => position = start;

    /// <summary>Waits for records after the read position and returns up to <paramref name="maxLines"/> lines of them.</summary>
    public async ValueTask<SpoolBatch> ReadAsync(int maxLines, CancellationToken cancellationToken)
    {
        while (true)
        {
            var appended = committed.Next;
            if (TryRead(maxLines) is { } batch)
            {
                return batch;
            }

            await appended.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Waits for records after the read position and returns up to <paramref name="maxRecords"/> of them, one entry each.</summary>
    public async ValueTask<EntryBatch> ReadEntriesAsync(int maxRecords, CancellationToken cancellationToken)
    {
        while (true)
        {
            var appended = committed.Next;
            if (TryReadEntries(maxRecords) is { } batch)
            {
                return batch;
            }

            await appended.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The next records after the read position, or null when there are none (yet).</summary>
    public SpoolBatch? TryRead(int maxLines)
    {
        var lines = new List<string>();
        var (end, bytes, records) = ReadRecords(maxLines, int.MaxValue, (_, _, recordLines) => lines.AddRange(recordLines), () => lines.Count);
        return records == 0 ? null : new SpoolBatch(lines, end, bytes, records);
    }

    /// <summary>The next records after the read position, at most <paramref name="maxRecords"/>, or null when there are none (yet).</summary>
    public EntryBatch? TryReadEntries(int maxRecords)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecords, 1);
        var entries = new List<SpoolEntry>();
        long lines = 0;
        var (end, _, records) = ReadRecords(int.MaxValue, maxRecords, (recordEnd, appendedAtMs, recordLines) =>
        {
            entries.Add(new SpoolEntry(recordEnd, appendedAtMs, recordLines));
            lines += recordLines.Length;
        }, () => 0);
        return records == 0 ? null : new EntryBatch(entries, entries[^1].End, lines);
    }

    /// <summary>
    /// Reads records from the read position, handing each to <paramref name="take"/> with where it ends and when it was
    /// appended, while <paramref name="linesTaken"/> is under <paramref name="maxLines"/> and fewer than
    /// <paramref name="maxRecords"/> records were read; moves the read position past them.
    /// </summary>
    (SpoolPosition End, long Bytes, int Records) ReadRecords(int maxLines, int maxRecords, Action<SpoolPosition, long, string[]> take, Func<int> linesTaken)
    {
        CloseReleasedHandle();
        var at = position;
        long bytes = 0;
        var records = 0;
        while (linesTaken() < maxLines && records < maxRecords)
        {
            var (known, committedLength, next) = ledger.Locate(at.Segment);
            if (!known || at.Offset >= committedLength)
            {
                if (next is null)
                {
                    break;
                }

                at = new SpoolPosition(next.Value, 0);
                continue;
            }

            var toRead = (int)Math.Min(committedLength - at.Offset, buffer.Length);
            var read = RandomAccess.Read(Handle(at.Segment), buffer.AsSpan(0, toRead), at.Offset);
            var offset = 0;
            while (linesTaken() < maxLines && records < maxRecords && offset + SpoolRecord.HeaderSize <= read)
            {
                var span = buffer.AsSpan(offset, read - offset);
                if (!SpoolRecord.TryReadHeader(span, out var payloadLength, out var lineCount, out var appendedAtMs))
                {
                    throw new InvalidDataException($"spool segment {at.Segment} is damaged at offset {at.Offset + offset}");
                }

                var recordLength = SpoolRecord.HeaderSize + payloadLength;
                if (recordLength > span.Length)
                {
                    break;
                }

                var record = span[..recordLength];
                if (!SpoolRecord.IsIntact(record))
                {
                    throw new InvalidDataException($"spool segment {at.Segment} fails its checksum at offset {at.Offset + offset}");
                }

                var recordLines = SpoolRecord.DecodeLines(record[SpoolRecord.HeaderSize..], lineCount);
                offset += recordLength;
                take(new SpoolPosition(at.Segment, at.Offset + offset), appendedAtMs, recordLines);
                bytes += recordLength;
                records++;
            }

            if (offset == 0)
            {
                // The next record is larger than the read buffer: grow it and read again.
                var needed = SpoolRecord.TryReadHeader(buffer, out var length, out _, out _) ? SpoolRecord.HeaderSize + length : 0;
                if (needed <= buffer.Length || at.Offset + needed > committedLength)
                {
                    throw new InvalidDataException($"spool segment {at.Segment} is damaged at offset {at.Offset}");
                }

                buffer = new byte[needed];
                continue;
            }

            at = at with { Offset = at.Offset + offset };
        }

        if (records > 0)
        {
            position = at;
        }

        return (at, bytes, records);
    }

    /// <summary>
    /// Lets go of segments that are about to be deleted. May be called from another consumer's thread: it only notes
    /// how far segments are released, and this reader closes a handle behind that on its next read (on Linux a deleted
    /// file's space is freed when its last handle closes; this reader never reads a released segment again).
    /// </summary>
    public void Forget(IReadOnlyList<long> released)
    {
        ArgumentNullException.ThrowIfNull(released);
        if (released.Count == 0)
        {
            return;
        }

        var before = released.Max() + 1;
        long seen;
        do
        {
            seen = Interlocked.Read(ref releasedBefore);
        }
        while (seen < before && Interlocked.CompareExchange(ref releasedBefore, before, seen) != seen);
    }

    void CloseReleasedHandle()
    {
        if (handle is not null && handleSegment < Interlocked.Read(ref releasedBefore))
        {
            CloseHandle();
        }
    }

    SafeFileHandle Handle(long segment)
    {
        if (handleSegment != segment || handle is null)
        {
            handle?.Dispose();
            handle = segments.OpenForReading(segment);
            handleSegment = segment;
        }

        return handle;
    }

    void CloseHandle()
    {
        handle?.Dispose();
        handle = null;
        handleSegment = -1;
    }

    public void Dispose() => CloseHandle();
}

/// <summary>
/// Records read by the grain feed: one entry each, where the last one ends (the reader itself may already stand at the
/// start of the next segment), and how many lines they hold.
/// </summary>
internal sealed record EntryBatch(IReadOnlyList<SpoolEntry> Entries, SpoolPosition End, long Lines);
