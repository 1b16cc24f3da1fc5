using Telemetry.Storage.Spool;

namespace Telemetry.Storage;

/// <summary>
/// The spool as the grain feeder sees it: a second cursor over the same records as InfluxDB's drainer, whose consumed
/// position is saved with the spool and holds back the deletion of segments, so that after a crash or kill the grains
/// are fed again everything durable that they had not saved.
/// </summary>
public interface IGrainFeed
{
    /// <summary>
    /// A random id made when the spool directory is created and kept with it: positions compare only within one spool,
    /// so a grain records its position per spool id (a spool wiped and started afresh has a new id).
    /// </summary>
    string SpoolId { get; }

    /// <summary>The position up to which the grains have consumed (as saved; where the feed starts after a restart).</summary>
    SpoolPosition FeedConsumed { get; }

    /// <summary>
    /// Waits for records after the feed cursor and returns up to <paramref name="maxRecords"/> of them in spool order,
    /// each with where it ends. Records of every kind are returned; the feeder picks the raw readings.
    /// </summary>
    ValueTask<IReadOnlyList<SpoolEntry>> ReadFeedAsync(int maxRecords, CancellationToken cancellationToken);

    /// <summary>
    /// Everything before <paramref name="position"/> is applied by the grains and saved in their state: the consumed
    /// position moves there (saved with the spool's checkpoint), and segments behind both consumers may be deleted.
    /// </summary>
    void ConsumeFeed(SpoolPosition position);

    /// <summary>
    /// Moves the feed's read position back to <see cref="FeedConsumed"/> and returns it: the next
    /// <see cref="ReadFeedAsync"/> returns the records after it again (a grain lost messages it was fed before it saved
    /// them). Not to be called while a read is in progress.
    /// </summary>
    SpoolPosition RewindFeed();
}

/// <summary>One spool record as read by the grain feeder: its lines, when it was appended, and where it ends.</summary>
public sealed record SpoolEntry(SpoolPosition End, long AppendedAtMs, IReadOnlyList<string> Lines);
