using System.ComponentModel.DataAnnotations;

namespace Telemetry.Storage;

/// <summary>Which InfluxDB write API the service speaks.</summary>
public enum InfluxApi
{
    /// <summary><c>/api/v2/write</c> through InfluxDB.Client: InfluxDB 2.x, 3.x and 1.8+ (and VictoriaMetrics).</summary>
    V2,
    /// <summary><c>/write?db=…&amp;rp=…</c>: InfluxDB 1.x.</summary>
    V1,
}

/// <summary>
/// Where readings are written (configuration section <c>Influx</c>):
/// <code>
/// "Influx": {
///   "Api": "V2",                      // or "V1"
///   "Url": "http://127.0.0.1:8086",
///   "Token": "",                      // V2: API token (set it through the environment: Influx__Token)
///   "Org": "campus",                  // V2
///   "Bucket": "campus",               // V2
///   "Database": "campus",             // V1
///   "RetentionPolicy": "",            // V1, empty for the database's default
///   "LongRetentionPolicy": "",        // V1: roll-ups, room/building/campus state and alerts go here; empty: same as raw
///   "LongBucket": "",                 // V2: the same for a bucket
///   "Username": "", "Password": "",   // V1, when InfluxDB has auth enabled
///   "Gzip": true,
///   "Timeout": "00:00:10"             // one HTTP attempt
/// }
/// </code>
/// </summary>
public sealed class InfluxOptions
{
    public const string SectionName = "Influx";

    public InfluxApi Api { get; set; } = InfluxApi.V2;

    [Required]
    public Uri Url { get; set; } = new("http://127.0.0.1:8086");

    public string? Token { get; set; }

    public string Org { get; set; } = "campus";

    public string Bucket { get; set; } = "campus";

    public string Database { get; set; } = "campus";

    public string? RetentionPolicy { get; set; }

    public string? LongRetentionPolicy { get; set; }

    public string? LongBucket { get; set; }

    /// <summary>True when the long-retention series go somewhere else than the raw readings.</summary>
    public bool HasLongRetention => Api == InfluxApi.V1 ? !string.IsNullOrEmpty(LongRetentionPolicy) : !string.IsNullOrEmpty(LongBucket);

    /// <summary>These options with the long-retention destination in place of the raw one.</summary>
    public InfluxOptions ForLongRetention()
    {
        var copy = (InfluxOptions)MemberwiseClone();
        copy.RetentionPolicy = LongRetentionPolicy;
        copy.Bucket = string.IsNullOrEmpty(LongBucket) ? Bucket : LongBucket;
        return copy;
    }

    public string? Username { get; set; }

    public string? Password { get; set; }

    public bool Gzip { get; set; } = true;

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// How the drainer writes to InfluxDB (configuration section <c>Writer</c>):
/// <code>
/// "Writer": {
///   "MaxBatchLines": 5000,            // lines per write request at most
///   "MaxRetryDelay": "00:00:30"       // longest backoff between two attempts
/// }
/// </code>
/// </summary>
public sealed class WriterOptions
{
    public const string SectionName = "Writer";

    [Range(1, 100_000)]
    public int MaxBatchLines { get; set; } = 5000;

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
}
