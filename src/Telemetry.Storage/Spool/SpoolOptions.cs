using System.ComponentModel.DataAnnotations;

namespace Telemetry.Storage.Spool;

/// <summary>
/// The write-ahead spool on local disk (configuration section <c>Spool</c>):
/// <code>
/// "Spool": {
///   "Path": "data/spool",             // relative to the working directory
///   "MaxBytes": 1073741824,           // beyond it the broker stops acknowledging (backpressure)
///   "SegmentBytes": 67108864,
///   "FullWaitTimeout": "00:00:25",    // how long a message waits for space before its device is disconnected unacknowledged
///   "DegradedAfter": "00:01:00",      // /health/ready says Degraded when the oldest pending reading is older
///   "FeedDegradedAfter": "00:01:00",  // /health/ready says Degraded when the grains lag further behind than this
///   "ShutdownDrainTimeout": "00:00:05"
/// }
/// </code>
/// </summary>
public sealed class SpoolOptions
{
    public const string SectionName = "Spool";

    [Required]
    public string Path { get; set; } = "data/spool";

    [Range(1024, long.MaxValue)]
    public long MaxBytes { get; set; } = 1L << 30;

    [Range(4096, 1L << 32)]
    public long SegmentBytes { get; set; } = 64L << 20;

    /// <summary>Largest group of appends written with one fsync.</summary>
    [Range(4096, 256L << 20)]
    public int MaxGroupBytes { get; set; } = 4 << 20;

    public TimeSpan FullWaitTimeout { get; set; } = TimeSpan.FromSeconds(25);

    public TimeSpan DegradedAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// With a grain feed: <c>/health/ready</c> says Degraded (the <c>grain_feed</c> check) while the oldest record the
    /// grains have not consumed is older than this. The consumed position moves at the grain feeder's checkpoint rounds,
    /// so keep it well above their interval. At least one second (checked here, at start).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "10675199.02:48:05.4775807", ErrorMessage = "Spool:FeedDegradedAfter must be at least one second")]
    public TimeSpan FeedDegradedAfter { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan ShutdownDrainTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
