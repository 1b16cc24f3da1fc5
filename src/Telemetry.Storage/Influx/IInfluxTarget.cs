namespace Telemetry.Storage.Influx;

/// <summary>One InfluxDB write API. Implementations make one attempt; retries are the writer's.</summary>
public interface IInfluxTarget
{
    /// <summary>Writes the lines in one request. Throws <see cref="InfluxWriteException"/> when InfluxDB does not take them.</summary>
    Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken);

    /// <summary>True when InfluxDB answers its ping.</summary>
    Task<bool> PingAsync(CancellationToken cancellationToken);

    /// <summary>Where writes go, for logs (never includes credentials).</summary>
    string Describe();
}
