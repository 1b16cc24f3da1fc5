namespace Telemetry.Domain.Ingest;

/// <summary>
/// Limits applied to every device message (configuration section <c>Ingest</c>):
/// <code>
/// "Ingest": {
///   "MaxPayloadBytes": 262144,
///   "MaxReadingsPerMessage": 1000,
///   "MaxMetricsPerReading": 100,
///   "MaxFutureSkew": "00:05:00",
///   "MaxAge": "30.00:00:00"
/// }
/// </code>
/// </summary>
public sealed class IngestLimits
{
    public const string SectionName = "Ingest";
    public const int MaxMetricNameLength = 64;

    /// <summary>Largest payload accepted, in bytes.</summary>
    public int MaxPayloadBytes { get; set; } = 256 * 1024;

    /// <summary>Most readings one message (a batch) may carry.</summary>
    public int MaxReadingsPerMessage { get; set; } = 1000;

    /// <summary>Most metrics one reading may carry.</summary>
    public int MaxMetricsPerReading { get; set; } = 100;

    /// <summary>How far ahead of the broker's clock a reading's <c>ts</c> may be.</summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How far behind the broker's clock a reading's <c>ts</c> may be (stored readings uploaded after an outage).</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(30);
}
