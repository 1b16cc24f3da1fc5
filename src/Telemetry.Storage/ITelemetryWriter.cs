namespace Telemetry.Storage;

/// <summary>The write pipeline as the grains see it.</summary>
public interface ITelemetryWriter
{
    /// <summary>
    /// Hands over the line-protocol lines of one message. Completes when they are durable in the local spool
    /// (written and fsynced); InfluxDB gets them from there. Waits while the spool is full and throws
    /// <see cref="TimeoutException"/> if it stays full; throws when the disk refuses the write.
    /// </summary>
    ValueTask WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken);

    /// <summary>
    /// Like <see cref="WriteAsync"/>, for lines derived from readings already in the spool (roll-ups, alert steps,
    /// states): they may use a reserve above the spool's capacity, so a spool full of readings does not stop the grains.
    /// </summary>
    ValueTask WriteDerivedAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the lines of one message in call order: completes once they are queued (waiting while the spool is full,
    /// <see cref="TimeoutException"/> if it stays full), with a task that completes when they are durable or faults when
    /// the disk refused them. Lets a caller start the next message before the previous one's fsync.
    /// </summary>
    ValueTask<Task> EnqueueAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken);

    /// <summary>Lines handed over and not yet acknowledged by InfluxDB.</summary>
    long PendingLines { get; }
}
