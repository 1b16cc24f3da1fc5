using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Telemetry.Storage.Spool;

/// <summary>
/// Brings a spool back after a stop or a crash, before anything is appended or read: deletes the segments wholly before
/// the older of the saved positions (InfluxDB's and, with a grain feed, the feed's), scans the others for where their
/// intact records end (cutting off a record torn by a crash in the middle of a write, which was never acknowledged),
/// counts what each consumer has not taken, and names the segment to append to next. Records after each consumer's
/// position are therefore read by it first.
/// </summary>
internal static class SpoolRecovery
{
    /// <summary>One age mark per this many bytes of a scanned segment: enough for the oldest-age gauges.</summary>
    const long MarkEveryBytes = 1 << 20;

    /// <summary>Recovers a spool without a grain feed: only InfluxDB's position counts.</summary>
    public static RecoveredSpool Recover(SpoolSegments segments, SpoolPosition saved, ILogger logger) =>
        Recover(segments, saved, feedSaved: null, logger);

    /// <summary>
    /// Recovers a spool whose grain feed, when <paramref name="feedSaved"/> is not null, resumes there; both positions
    /// and everything between them are kept.
    /// </summary>
    public static RecoveredSpool Recover(SpoolSegments segments, SpoolPosition saved, SpoolPosition? feedSaved, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var older = feedSaved is { } f && f < saved ? f : saved;
        var found = segments.List();
        foreach (var index in found.Where(i => i < older.Segment))
        {
            segments.Delete(index);
        }

        found.RemoveAll(i => i < older.Segment);
        var next = found.Count > 0 ? found[^1] + 1 : Math.Max(1, older.Segment);
        var acknowledged = Resume(saved, found, next);
        var feed = feedSaved is { } fed ? Resume(fed, found, next) : (SpoolPosition?)null;
        var from = feed is { } start && start < acknowledged ? start : acknowledged;

        var kept = new List<(long Index, long Length)>();
        var marks = new List<AgeMark>();
        long lines = 0, bytes = 0, feedLines = 0, feedBytes = 0;
        foreach (var index in found)
        {
            using var handle = segments.OpenForRecovery(index);
            var scan = Scan(handle, index, CountFrom(acknowledged, index), CountFrom(feed ?? acknowledged, index), CountFrom(from, index));
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
            feedLines += scan.FeedLines;
            feedBytes += scan.FeedBytes;
        }

        if (lines > 0)
        {
            logger.LogInformation("Spool at {Directory}: {Lines} lines ({Bytes} bytes) from before the restart are sent to InfluxDB first",
                segments.Directory, lines, bytes);
        }
        else
        {
            logger.LogInformation("Spool at {Directory} has nothing waiting for InfluxDB", segments.Directory);
        }

        if (feed is not null && feedLines > 0)
        {
            logger.LogInformation("Spool at {Directory}: {Lines} lines ({Bytes} bytes) from before the restart are fed to the grains first, from {Position}",
                segments.Directory, feedLines, feedBytes, feed);
        }

        return new RecoveredSpool(acknowledged, kept, lines, bytes, marks, next, feed, feedLines, feedBytes);
    }

    /// <summary>
    /// Where a consumer saved at <paramref name="saved"/> resumes: there when its segment is on disk, otherwise at the
    /// start of the first segment after it (its segment was deleted), or of the segment appended next when none follows.
    /// </summary>
    static SpoolPosition Resume(SpoolPosition saved, List<long> found, long next)
    {
        if (found.Contains(saved.Segment))
        {
            return saved;
        }

        var after = found.FirstOrDefault(i => i > saved.Segment, next);
        return new SpoolPosition(after, 0);
    }

    /// <summary>The offset in <paramref name="segment"/> after which records are not yet taken by a consumer at <paramref name="position"/>.</summary>
    static long CountFrom(SpoolPosition position, long segment) =>
        segment < position.Segment ? long.MaxValue : segment == position.Segment ? position.Offset : 0;

    /// <summary>Reads a segment counting from one position (a spool without a grain feed).</summary>
    public static SegmentScan Scan(SafeFileHandle handle, long segment, long countFrom) => Scan(handle, segment, countFrom, countFrom, countFrom);

    /// <summary>
    /// Reads the records of segment <paramref name="segment"/> from its start until the first one whose header or CRC
    /// does not check out or that runs past the end of the file. Counts the lines and bytes of the records that end
    /// after <paramref name="countFrom"/> (those not yet acknowledged by InfluxDB) and after <paramref name="feedFrom"/>
    /// (not yet consumed by the grain feed), and marks the age of those after <paramref name="markFrom"/>. Changes nothing.
    /// </summary>
    public static SegmentScan Scan(SafeFileHandle handle, long segment, long countFrom, long feedFrom, long markFrom)
    {
        var length = RandomAccess.GetLength(handle);
        var header = new byte[SpoolRecord.HeaderSize];
        var record = Array.Empty<byte>();
        var marks = new List<AgeMark>();
        long position = 0, lines = 0, bytes = 0, feedLines = 0, feedBytes = 0, lastMark = long.MinValue;
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
            }

            if (position > feedFrom)
            {
                feedLines += lineCount;
                feedBytes += recordLength;
            }

            if (position > markFrom && (position - lastMark >= MarkEveryBytes || lastMark == long.MinValue))
            {
                marks.Add(new AgeMark(new SpoolPosition(segment, position), appendedAtMs));
                lastMark = position;
            }
        }

        return new SegmentScan(length, position, lines, bytes, marks, feedLines, feedBytes);
    }
}

/// <summary>
/// One segment as <see cref="SpoolRecovery.Scan"/> found it: the file's length, where its intact records end, the
/// lines, bytes and age marks of the records after InfluxDB's counting position, and the lines and bytes after the feed's.
/// </summary>
internal sealed record SegmentScan(long Length, long ValidEnd, long Lines, long Bytes, IReadOnlyList<AgeMark> AgeMarks, long FeedLines = 0, long FeedBytes = 0);

/// <summary>
/// What <see cref="SpoolRecovery"/> found: the state a spool resumes from. <paramref name="FeedConsumed"/> is null for a
/// spool without a grain feed; otherwise the feed resumes there, with <paramref name="FeedLines"/> and
/// <paramref name="FeedBytes"/> after it.
/// </summary>
internal sealed record RecoveredSpool(
    SpoolPosition Acknowledged,
    IReadOnlyList<(long Index, long Length)> Segments,
    long Lines,
    long Bytes,
    IReadOnlyList<AgeMark> AgeMarks,
    long NextSegment,
    SpoolPosition? FeedConsumed = null,
    long FeedLines = 0,
    long FeedBytes = 0);
