using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Telemetry.Storage.Spool;

/// <summary>
/// Brings a spool back after a stop or a crash, before anything is appended or read: deletes the segments wholly before
/// the checkpoint, scans the others for where their intact records end (cutting off a record torn by a crash in the
/// middle of a write, which was never acknowledged), counts what InfluxDB has not acknowledged, and names the segment
/// to append to next. Records after the checkpoint are therefore drained first.
/// </summary>
internal static class SpoolRecovery
{
    /// <summary>One age mark per this many bytes of a scanned segment: enough for the oldest-age gauge.</summary>
    const long MarkEveryBytes = 1 << 20;

    public static RecoveredSpool Recover(SpoolSegments segments, SpoolPosition saved, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var found = segments.List();
        foreach (var index in found.Where(i => i < saved.Segment))
        {
            segments.Delete(index);
        }

        found.RemoveAll(i => i < saved.Segment);
        var acknowledged = found.Count > 0 && found[0] == saved.Segment ? saved : new SpoolPosition(found.FirstOrDefault(), 0);

        var kept = new List<(long Index, long Length)>();
        var marks = new List<AgeMark>();
        long lines = 0, bytes = 0;
        foreach (var index in found)
        {
            using var handle = segments.OpenForRecovery(index);
            var scan = Scan(handle, index, index == acknowledged.Segment ? acknowledged.Offset : 0);
            if (scan.ValidEnd < scan.Length)
            {
                logger.LogWarning("Spool segment {Segment} ends in {Bytes} bytes of an unfinished write (never acknowledged); cutting them off",
                    index, scan.Length - scan.ValidEnd);
                RandomAccess.SetLength(handle, scan.ValidEnd);
            }

            kept.Add((index, scan.ValidEnd));
            marks.AddRange(scan.AgeMarks);
            lines += scan.Lines;
            bytes += scan.Bytes;
        }

        var next = found.Count > 0 ? found[^1] + 1 : Math.Max(1, saved.Segment);
        if (lines > 0)
        {
            logger.LogInformation("Spool at {Directory}: {Lines} lines ({Bytes} bytes) from before the restart are sent to InfluxDB first",
                segments.Directory, lines, bytes);
        }
        else
        {
            logger.LogInformation("Spool at {Directory} is empty", segments.Directory);
        }

        return new RecoveredSpool(acknowledged, kept, lines, bytes, marks, next);
    }

    /// <summary>
    /// Reads the records of segment <paramref name="segment"/> from its start until the first one whose header or CRC
    /// does not check out or that runs past the end of the file. Counts the lines and bytes of the records that end
    /// after <paramref name="countFrom"/> (those not yet acknowledged). Changes nothing.
    /// </summary>
    public static SegmentScan Scan(SafeFileHandle handle, long segment, long countFrom)
    {
        var length = RandomAccess.GetLength(handle);
        var header = new byte[SpoolRecord.HeaderSize];
        var record = Array.Empty<byte>();
        var marks = new List<AgeMark>();
        long position = 0, lines = 0, bytes = 0, lastMark = long.MinValue;
        while (position + SpoolRecord.HeaderSize <= length)
        {
            RandomAccess.Read(handle, header, position);
            if (!SpoolRecord.TryReadHeader(header, out var payloadLength, out var lineCount, out var appendedAtMs)
                || position + SpoolRecord.HeaderSize + payloadLength > length)
            {
                break;
            }

            var recordLength = SpoolRecord.HeaderSize + payloadLength;
            if (record.Length < recordLength)
            {
                record = new byte[Math.Max(recordLength, 64 * 1024)];
            }

            RandomAccess.Read(handle, record.AsSpan(0, recordLength), position);
            if (!SpoolRecord.IsIntact(record.AsSpan(0, recordLength)))
            {
                break;
            }

            position += recordLength;
            if (position > countFrom)
            {
                lines += lineCount;
                bytes += recordLength;
                if (position - lastMark >= MarkEveryBytes || lastMark == long.MinValue)
                {
                    marks.Add(new AgeMark(new SpoolPosition(segment, position), appendedAtMs));
                    lastMark = position;
                }
            }
        }

        return new SegmentScan(length, position, lines, bytes, marks);
    }
}

/// <summary>
/// One segment as <see cref="SpoolRecovery.Scan"/> found it: the file's length, where its intact records end, and
/// the lines, bytes and age marks of the records after the counting position.
/// </summary>
internal sealed record SegmentScan(long Length, long ValidEnd, long Lines, long Bytes, IReadOnlyList<AgeMark> AgeMarks);

/// <summary>What <see cref="SpoolRecovery"/> found: the state a spool resumes from.</summary>
internal sealed record RecoveredSpool(
    SpoolPosition Acknowledged,
    IReadOnlyList<(long Index, long Length)> Segments,
    long Lines,
    long Bytes,
    IReadOnlyList<AgeMark> AgeMarks,
    long NextSegment);
