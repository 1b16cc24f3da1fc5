namespace Telemetry.Storage.Influx;

/// <summary>What a failed write means for the lines in it.</summary>
public enum WriteFailureKind
{
    /// <summary>Timeout, connection error, 408, 429, 5xx: the same lines will go through later. Retried.</summary>
    Transient,
    /// <summary>400, 413, 422: InfluxDB refuses these lines. Never retried as is: split to isolate the bad ones.</summary>
    DataRejected,
    /// <summary>401, 403, 404 and other 4xx: the service's configuration (token, database, bucket) is wrong. Retried until fixed.</summary>
    Misconfigured,
}

/// <summary>InfluxDB did not take a batch.</summary>
public sealed class InfluxWriteException : Exception
{
    public InfluxWriteException(string message, int? statusCode, TimeSpan? retryAfter = null, Exception? inner = null)
        : base(message, inner)
    {
        StatusCode = statusCode;
        RetryAfter = retryAfter;
        Kind = Classify(statusCode);
    }

    public InfluxWriteException()
    {
    }

    public InfluxWriteException(string message) : base(message)
    {
    }

    public InfluxWriteException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public int? StatusCode { get; }

    public WriteFailureKind Kind { get; }

    public TimeSpan? RetryAfter { get; }

    /// <summary>A short label for metrics: the HTTP status, or "unreachable".</summary>
    public string Reason => StatusCode is { } code ? $"http_{code}" : "unreachable";

    public static WriteFailureKind Classify(int? status) => status switch
    {
        null => WriteFailureKind.Transient,
        408 or 429 or >= 500 => WriteFailureKind.Transient,
        400 or 413 or 422 => WriteFailureKind.DataRejected,
        _ => WriteFailureKind.Misconfigured,
    };
}
