using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Telemetry.Storage.Spool;

/// <summary>
/// The file <c>{directory}/checkpoint</c>: the position up to which InfluxDB has acknowledged, as
/// <c>"{segment} {offset}\n"</c>, replaced by a rename so that it is never half written. It is not fsynced: losing its
/// last update only means some lines are written again, which overwrites the same points.
/// </summary>
internal sealed class SpoolCheckpoint(string directory, TimeProvider time, ILogger logger)
{
    public const string FileName = "checkpoint";

    /// <summary>Where a spool without a checkpoint starts: the first segment.</summary>
    public static readonly SpoolPosition Start = new(1, 0);

    /// <summary>Where an unreadable checkpoint sends the drain: before every segment there is.</summary>
    public static readonly SpoolPosition Oldest = new(0, 0);

    static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    readonly string path = Path.Combine(directory, FileName);
    long lastWrite;

    public SpoolPosition Load()
    {
        if (!File.Exists(path))
        {
            return Start;
        }

        if (TryParse(File.ReadAllText(path), out var position))
        {
            return position;
        }

        logger.LogWarning("The spool checkpoint {Path} is unreadable; draining from the oldest segment (some lines may be written twice, which overwrites the same points)", path);
        return Oldest;
    }

    /// <summary>
    /// Records <paramref name="position"/> when <paramref name="mustPersist"/> (segments are about to be deleted) or at
    /// most every 250 ms otherwise: a checkpoint that lags only means some lines are written again after a crash, while
    /// every rewrite costs a rename that the appender's next fsync has to wait for.
    /// </summary>
    /// <returns>True when <paramref name="position"/> was saved; false when it was left for a later call.</returns>
    public bool Advance(SpoolPosition position, bool mustPersist)
    {
        var now = time.GetTimestamp();
        if (mustPersist || lastWrite == 0 || time.GetElapsedTime(lastWrite, now) >= Interval)
        {
            Save(position);
            lastWrite = now;
            return true;
        }

        return false;
    }

    public void Save(SpoolPosition position)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, Format(position));
        File.Move(temporary, path, overwrite: true);
    }

    public static string Format(SpoolPosition position) =>
        string.Create(CultureInfo.InvariantCulture, $"{position.Segment} {position.Offset}\n");

    public static bool TryParse(string text, out SpoolPosition position)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
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
