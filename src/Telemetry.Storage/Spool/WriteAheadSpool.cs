using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Domain.Observability;

namespace Telemetry.Storage.Spool;

/// <summary>
/// The write-ahead spool between the grains and InfluxDB. <see cref="WriteAsync"/> appends a message's lines as one
/// record and completes only after an fsync made it durable; appends that arrive together share one write and one
/// fsync (group commit). The <see cref="Drain.InfluxDrainer"/> reads records in order and <see cref="Acknowledge"/>s
/// them once InfluxDB took them; fully acknowledged segments are deleted.
/// <para>
/// On disk: <c>{Path}/{index:D12}.seg</c> files of <see cref="SpoolRecord"/>s, and <c>{Path}/checkpoint</c> with the
/// position up to which InfluxDB has acknowledged. A lost checkpoint update only means some lines are written again,
/// which overwrites the same points. On start, records after the checkpoint are drained first; a torn record at
/// the end of a segment (a crash in the middle of a write, never acknowledged) is cut off.
/// </para>
/// <para>Bounded: past <see cref="SpoolOptions.MaxBytes"/> appends wait (and the broker withholds PUBACKs).</para>
/// <para>
/// This class composes the roles and owns their order; each role is its own type: <see cref="SpoolAppender"/> (group
/// commit, backpressure), <see cref="SpoolReader"/> (the drainer's cursor), <see cref="SpoolLedger"/> (what is
/// committed, acknowledged and pending), <see cref="SpoolRecovery"/> (the scan on start), <see cref="SpoolCheckpoint"/>
/// (the checkpoint file) and <see cref="SpoolSegments"/> (the segment files).
/// </para>
/// </summary>
public sealed class WriteAheadSpool : ITelemetryWriter, IHostedService, IDisposable
{
    readonly SpoolOptions options;
    readonly ILogger<WriteAheadSpool> logger;
    readonly TimeProvider time;
    readonly SpoolSegments segments;
    readonly SpoolCheckpoint checkpoint;
    readonly SpoolLedger ledger;
    readonly SpoolAppender appender;
    readonly SpoolReader reader;
    readonly Lock releaseGate = new();
    readonly List<long> toRelease = [];
    SpoolPosition checkpointDue;
    bool checkpointPending;

    public WriteAheadSpool(IOptions<SpoolOptions> options, TelemetryMetrics metrics, ILogger<WriteAheadSpool> logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        this.options = options.Value;
        this.logger = logger;
        this.time = time;
        Health = new WritePathHealth(metrics, logger, time);
        segments = new SpoolSegments(System.IO.Path.GetFullPath(this.options.Path));
        checkpoint = new SpoolCheckpoint(segments.Directory, time, logger);
        ledger = new SpoolLedger(this.options.MaxBytes);
        var committed = new AsyncSignal();
        appender = new SpoolAppender(this.options, ledger, segments, committed, metrics, Health, logger, time);
        reader = new SpoolReader(ledger, segments, committed);
        metrics.ObserveGauge("telemetry.spool.bytes", "By", "Bytes in the spool not yet acknowledged by InfluxDB", () => PendingBytes);
        metrics.ObserveGauge("telemetry.spool.pending.lines", "{line}", "Lines in the spool not yet acknowledged by InfluxDB", () => PendingLines);
        metrics.ObserveGauge("telemetry.spool.oldest.age", "s", "Age of the oldest reading not yet acknowledged by InfluxDB", () => (long)OldestPendingAge.TotalSeconds);
        metrics.ObserveGauge("telemetry.spool.full", "{state}", "1 while the spool is full and devices are not acknowledged", () => IsFull ? 1 : 0);
    }

    public string Directory => segments.Directory;

    /// <summary>The write path's resource errors by stage (shared with the drainer); failing stages make /health/ready Degraded.</summary>
    public WritePathHealth Health { get; }

    /// <summary>True while a checkpoint update or a segment deletion failed and waits for <see cref="RetryHousekeeping"/>.</summary>
    public bool HousekeepingPending
    {
        get { lock (releaseGate) { return checkpointPending || toRelease.Count > 0; } }
    }

    public long Capacity => options.MaxBytes;

    public long PendingLines => ledger.PendingLines;

    public long PendingBytes => ledger.PendingBytes;

    public bool IsFull => appender.IsFull;

    /// <summary>How long the oldest reading not yet in InfluxDB has been waiting (zero when none).</summary>
    public TimeSpan OldestPendingAge => ledger.OldestPendingAge(time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>Recovers what is on disk, then starts appending to a new segment.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(segments.Directory);
        var recovered = SpoolRecovery.Recover(segments, checkpoint.Load(), logger);
        ledger.Restore(recovered);
        reader.MoveTo(recovered.Acknowledged);
        appender.Start(recovered.NextSegment);
        return Task.CompletedTask;
    }

    /// <summary>Finishes the appends already taken (the broker has stopped by now) and closes the files.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await appender.CompleteAsync(cancellationToken);
        lock (releaseGate)
        {
            checkpointDue = ledger.Acknowledged;
            checkpointPending = true;
            Housekeep(force: true);
        }

        logger.LogInformation("Spool closed with {Lines} lines ({Bytes} bytes) not yet in InfluxDB; they are sent first on the next start",
            ledger.PendingLines, ledger.PendingBytes);
    }

    /// <summary>Appends the lines of one message; completes when they are on disk (fsync).</summary>
    public ValueTask WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        return lines.Count == 0 ? ValueTask.CompletedTask : appender.AppendAsync(lines, cancellationToken);
    }

    /// <summary>
    /// Takes the lines of one message in call order; completes once they are queued (waiting while the spool is full),
    /// with a task that completes when they are durable. The broker acknowledges when that task completes.
    /// </summary>
    public ValueTask<Task> EnqueueAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        return lines.Count == 0 ? ValueTask.FromResult(Task.CompletedTask) : appender.EnqueueAsync(lines, cancellationToken);
    }

    /// <summary>Waits for records after the read position and returns up to <paramref name="maxLines"/> lines of them.</summary>
    public ValueTask<SpoolBatch> ReadAsync(int maxLines, CancellationToken cancellationToken) => reader.ReadAsync(maxLines, cancellationToken);

    /// <summary>The next records after the read position, or null when there are none (yet).</summary>
    public SpoolBatch? TryRead(int maxLines) => reader.TryRead(maxLines);

    /// <summary>
    /// InfluxDB took <paramref name="batch"/> (or it was dead-lettered): move the checkpoint past it and free space.
    /// The checkpoint file is rewritten at most every 250 ms, and always before a segment is deleted
    /// (<see cref="SpoolCheckpoint.Advance"/>).
    /// <para>
    /// Never throws for a resource error (EMFILE, ENOSPC, a path that is not a file…): the acknowledgement in the ledger
    /// stands (InfluxDB has the lines), and what could not be done on disk — the checkpoint, the deletion of released
    /// segments — is kept and done by the next acknowledgement or <see cref="RetryHousekeeping"/>. Segments are deleted
    /// only after a checkpoint past them was saved, so a crash in between at worst writes some lines again.
    /// </para>
    /// </summary>
    public void Acknowledge(SpoolBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var release = ledger.Acknowledge(batch.End, batch.Bytes, batch.Lines.Count);
        lock (releaseGate)
        {
            toRelease.AddRange(release.Segments);
            checkpointDue = batch.End;
            checkpointPending = true;
            Housekeep(force: false);
        }

        appender.NoteSpaceFreed(release.RoomAgain);
    }

    /// <summary>Retries a checkpoint update or segment deletion that failed; true when nothing is left to do.</summary>
    public bool RetryHousekeeping()
    {
        lock (releaseGate)
        {
            Housekeep(force: true);
            return !checkpointPending && toRelease.Count == 0;
        }
    }

    /// <summary>Under <see cref="releaseGate"/>: saves the checkpoint when due, then deletes the released segments.</summary>
    void Housekeep(bool force)
    {
        if (checkpointPending)
        {
            try
            {
                if (checkpoint.Advance(checkpointDue, mustPersist: force || toRelease.Count > 0))
                {
                    checkpointPending = false;
                }

                Health.Succeeded("spool_checkpoint");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OutOfMemoryException)
            {
                Health.Failed("spool_checkpoint", ex);
                return; // no segment is deleted before a checkpoint past it is saved
            }
        }

        if (toRelease.Count == 0)
        {
            return;
        }

        reader.Forget(toRelease);
        while (toRelease.Count > 0)
        {
            try
            {
                segments.Delete(toRelease[0]);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Health.Failed("spool_release", ex);
                return;
            }

            toRelease.RemoveAt(0);
        }

        Health.Succeeded("spool_release");
    }

    public void Dispose()
    {
        appender.Dispose();
        reader.Dispose();
    }
}
