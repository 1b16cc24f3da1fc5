using System.ComponentModel.DataAnnotations;

namespace Telemetry.Grains.Feed;

/// <summary>
/// How the grain feeder hands the spool's readings to the sensor grains (configuration section <c>Grains</c>):
/// <code>
/// "Grains": {
///   "FeedCheckpointInterval": "00:00:30", // sensor grains save their state and the feed's consumed position moves this often
///   "FeedBatchRecords": 2000,             // spool records (messages) read and fed per batch at most
///   "FeedMaxAttempts": 8                  // attempts of one sensor's batch before its messages are given up (raw lines stay in InfluxDB)
/// }
/// </code>
/// Validated here only (data annotations, checked at start).
/// </summary>
public sealed class GrainFeedOptions
{
    public const string SectionName = "Grains";

    /// <summary>
    /// Time between checkpoint rounds: every sensor fed since the last round saves its state (one state file each),
    /// then the feed's consumed position moves to what was fed. Shorter: less to replay after a crash and less of the
    /// spool held back; longer: fewer state writes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan FeedCheckpointInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Spool records read per batch at most; each sensor of a batch gets one call with all of its messages.</summary>
    [Range(1, 100_000)]
    public int FeedBatchRecords { get; set; } = 2000;

    /// <summary>
    /// Attempts of one sensor's batch (exponential backoff with jitter between them) before its messages are given up:
    /// counted in <c>telemetry_grains_feed_messages_given_up_total</c> with the reason and logged; their raw lines are in
    /// the spool and InfluxDB regardless, only that sensor's roll-ups and alerts miss them.
    /// </summary>
    [Range(1, 1000)]
    public int FeedMaxAttempts { get; set; } = 8;

    /// <summary>Longest pause between two attempts of a sensor's batch.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan FeedMaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);
}
