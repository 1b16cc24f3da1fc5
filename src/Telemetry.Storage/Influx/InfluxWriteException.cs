namespace Telemetry.Storage.Influx;

/// <summary>
/// InfluxDB did not take a batch. <see cref="Transient"/> failures (timeouts, connection errors, 429, 5xx) are worth
/// retrying; the others (400, 401, 403, 404, 413, 422) are not, as they would fail the same way again.
/// </summary>
public sealed class InfluxWriteException : Exception
{
    public InfluxWriteException(string message, int? statusCode, bool transient, TimeSpan? retryAfter = null, Exception? inner = null)
        : base(message, inner)
    {
        StatusCode = statusCode;
        Transient = transient;
        RetryAfter = retryAfter;
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

    public bool Transient { get; }

    public TimeSpan? RetryAfter { get; }

    /// <summary>A short label for metrics: the HTTP status, or the kind of connection failure.</summary>
    public string Reason => StatusCode is { } code ? $"http_{code}" : "unreachable";

    public static bool IsTransientStatus(int status) => status is 408 or 429 or >= 500;
}
