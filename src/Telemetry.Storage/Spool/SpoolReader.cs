using Microsoft.Win32.SafeHandles;

namespace Telemetry.Storage.Spool;

/// <summary>
/// A cursor over the spool for one consumer: reads records in spool order from its position, never past what the
/// <see cref="SpoolLedger"/> says is committed, and moves on by itself. Reading does not acknowledge: a consumer that
/// restarts starts again from its acknowledged position. Used by one consumer at a time.
/// </summary>
internal sealed class SpoolReader(SpoolLedger ledger, SpoolSegments segments, AsyncSignal committed) : IDisposable
{
    const int ReadChunkBytes = 4 << 20;

    SpoolPosition position;
    long handleSegment = -1;
    SafeFileHandle? handle;
    byte[] buffer = new byte[ReadChunkBytes];

    public SpoolPosition Position => position;

    /// <summary>Continues from <paramref name="start"/> (after recovery: the acknowledged position).</summary>
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

    /// <summary>The next records after the read position, or null when there are none (yet).</summary>
    public SpoolBatch? TryRead(int maxLines)
    {
        var lines = new List<string>();
        var at = position;
        long bytes = 0;
        var records = 0;
        while (lines.Count < maxLines)
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
            while (lines.Count < maxLines && offset + SpoolRecord.HeaderSize <= read)
            {
                var span = buffer.AsSpan(offset, read - offset);
                if (!SpoolRecord.TryReadHeader(span, out var payloadLength, out var lineCount, out _))
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

                lines.AddRange(SpoolRecord.DecodeLines(record[SpoolRecord.HeaderSize..], lineCount));
                offset += recordLength;
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

        if (records == 0)
        {
            return null;
        }

        position = at;
        return new SpoolBatch(lines, at, bytes, records);
    }

    /// <summary>Lets go of segments that are about to be deleted.</summary>
    public void Forget(IReadOnlyList<long> released)
    {
        ArgumentNullException.ThrowIfNull(released);
        if (released.Contains(handleSegment))
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
