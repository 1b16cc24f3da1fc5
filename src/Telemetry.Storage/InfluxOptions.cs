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

    public string? Username { get; set; }

    public string? Password { get; set; }

    public bool Gzip { get; set; } = true;

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// How the write pipeline batches and retries (configuration section <c>Writer</c>):
/// <code>
/// "Writer": {
///   "MaxBatchLines": 5000,
///   "MaxConcurrentBatches": 2,
///   "QueueCapacity": 20000,           // messages waiting for a batch; beyond it devices wait (backpressure)
///   "RetryDeadline": "00:00:20"       // how long one batch is retried before its devices are told it failed
///                                     // (below Orleans' 30 s grain-call timeout)
/// }
/// </code>
/// </summary>
public sealed class WriterOptions
{
    public const string SectionName = "Writer";

    [Range(1, 100_000)]
    public int MaxBatchLines { get; set; } = 5000;

    [Range(1, 16)]
    public int MaxConcurrentBatches { get; set; } = 2;

    [Range(1, 10_000_000)]
    public int QueueCapacity { get; set; } = 20_000;

    public TimeSpan RetryDeadline { get; set; } = TimeSpan.FromSeconds(20);
}
