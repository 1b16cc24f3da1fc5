using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Telemetry.Storage.Spool;

/// <summary>
/// The file <c>{directory}/checkpoint</c>: the position up to which InfluxDB has acknowledged, as
/// <c>"{segment} {offset}\n"</c>, and — when the grains are fed from the spool — a second line
/// <c>"feed {segment} {offset}\n"</c> with the position up to which the grains have consumed. Replaced by a rename so
/// that it is never half written. It is not fsynced: losing its last update only means some lines are written again
/// (which overwrites the same points) and some records are fed again (which the grains skip by their recorded position).
/// <para>
/// A one-line checkpoint (written before the grain feed existed, or by a spool without one) still loads: its feed
/// position is absent and the feed starts at the InfluxDB position (<see cref="WriteAheadSpool"/> says why).
/// </para>
/// </summary>
internal sealed class SpoolCheckpoint(string directory, TimeProvider time, ILogger logger)
{
    public const string FileName = "checkpoint";

    const string FeedKeyword = "feed";

    /// <summary>Where a spool without a checkpoint starts: the first segment.</summary>
    public static readonly SpoolPosition Start = new(1, 0);

    /// <summary>Where an unreadable checkpoint sends the drain: before every segment there is.</summary>
    public static readonly SpoolPosition Oldest = new(0, 0);

    static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    readonly string path = Path.Combine(directory, FileName);
    long lastWrite;

    /// <summary>
    /// The saved positions. No file: both consumers at <see cref="Start"/>. An unreadable file: both at
    /// <see cref="Oldest"/> (everything still on disk is sent and fed again, which is safe, never lost).
    /// </summary>
    public SavedPositions Load()
    {
        if (!File.Exists(path))
        {
            return new SavedPositions(Start, Start);
        }

        if (TryParse(File.ReadAllText(path), out var saved))
        {
            return saved;
        }

        logger.LogWarning("The spool checkpoint {Path} is unreadable; draining and feeding from the oldest segment (some lines may be written twice, which overwrites the same points)", path);
        return new SavedPositions(Oldest, Oldest);
    }

    /// <summary>
    /// Records <paramref name="positions"/> when <paramref name="mustPersist"/> (segments are about to be deleted) or at
    /// most every 250 ms otherwise: a checkpoint that lags only means some lines are written (or fed) again after a
    /// crash, while every rewrite costs a rename that the appender's next fsync has to wait for.
    /// </summary>
    /// <returns>True when <paramref name="positions"/> were saved; false when they were left for a later call.</returns>
    public bool Advance(SavedPositions positions, bool mustPersist)
    {
        var now = time.GetTimestamp();
        if (mustPersist || lastWrite == 0 || time.GetElapsedTime(lastWrite, now) >= Interval)
        {
            Save(positions);
            lastWrite = now;
            return true;
        }

        return false;
    }

    public void Save(SavedPositions positions)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, Format(positions));
        File.Move(temporary, path, overwrite: true);
    }

    public static string Format(SavedPositions positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        var acknowledged = string.Create(CultureInfo.InvariantCulture, $"{positions.Acknowledged.Segment} {positions.Acknowledged.Offset}\n");
        return positions.Feed is { } feed
            ? acknowledged + string.Create(CultureInfo.InvariantCulture, $"{FeedKeyword} {feed.Segment} {feed.Offset}\n")
            : acknowledged;
    }

    /// <summary>Reads a checkpoint: one line (InfluxDB's position), optionally followed by the feed's line.</summary>
    public static bool TryParse(string text, out SavedPositions saved)
    {
        ArgumentNullException.ThrowIfNull(text);
        saved = new SavedPositions(default, null);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length is < 1 or > 2 || !TryParsePosition(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), out var acknowledged))
        {
            return false;
        }

        SpoolPosition? feed = null;
        if (lines.Length == 2)
        {
            var parts = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 3 || parts[0] != FeedKeyword || !TryParsePosition(parts[1..], out var fed))
            {
                return false;
            }

            feed = fed;
        }

        saved = new SavedPositions(acknowledged, feed);
        return true;
    }

    static bool TryParsePosition(string[] parts, out SpoolPosition position)
    {
        if (parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var segment)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            position = new SpoolPosition(segment, offset);
            return true;
        }

        position = default;
        return false;
    }
}

/// <summary>
/// What the checkpoint file holds: InfluxDB's acknowledged position, and the grain feed's consumed position (null in a
/// one-line checkpoint, and for a spool without a grain feed).
/// </summary>
internal sealed record SavedPositions(SpoolPosition Acknowledged, SpoolPosition? Feed);
