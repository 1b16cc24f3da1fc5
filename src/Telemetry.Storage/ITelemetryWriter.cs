namespace Telemetry.Storage;

/// <summary>The write pipeline as the grains see it.</summary>
public interface ITelemetryWriter
{
    /// <summary>
    /// Hands line-protocol lines to the pipeline. Completes when they are accepted — at this stage: when InfluxDB
    /// acknowledged the batch holding them (2xx). Faults when they could not be written within the retry deadline.
    /// Waits (backpressure) while the queue is full.
    /// </summary>
    ValueTask WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken);

    /// <summary>Lines handed over and not yet acknowledged by InfluxDB.</summary>
    long PendingLines { get; }
}
