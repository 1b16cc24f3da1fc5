using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Domain.Observability;

namespace Telemetry.Storage.Spool;

/// <summary>
/// The write-ahead spool between the broker, the grains and InfluxDB. <see cref="WriteAsync"/> appends a message's lines
/// as one record and completes only after an fsync made it durable; appends that arrive together share one write and
/// one fsync (group commit). The <see cref="Drain.InfluxDrainer"/> reads records in order and <see cref="Acknowledge"/>s
/// them once InfluxDB took them. With a grain feed (<see cref="FeedsGrains"/>), the grain feeder reads the same records
/// through a second cursor (<see cref="IGrainFeed"/>) and <see cref="ConsumeFeed"/>s them once the grains saved them.
/// Segments wholly behind both consumers are deleted.
/// <para>
/// On disk: <c>{Path}/{index:D12}.seg</c> files of <see cref="SpoolRecord"/>s; <c>{Path}/checkpoint</c> with the position
/// up to which InfluxDB has acknowledged and, with a grain feed, the one up to which the grains have consumed
/// (<see cref="SpoolCheckpoint"/>); <c>{Path}/spool-id</c> with the spool's id (<see cref="SpoolIdentity"/>). A lost
/// checkpoint update only means some lines are written again (which overwrites the same points) and some records are
/// fed again (which the grains skip by their recorded position). On start, each consumer first reads the records after
/// its own saved position; a torn record at the end of a segment (a crash in the middle of a write, never acknowledged)
/// is cut off.
/// </para>
/// <para>
/// Bounded: past <see cref="SpoolOptions.MaxBytes"/>, counted from the older of the two consumers, appends wait (and
/// the broker withholds PUBACKs).
/// </para>
/// <para>
/// The grain feed is switched on by the host that runs a grain feeder (<see cref="SpoolFeedSwitch"/>, set in code by
/// <see cref="StorageServiceCollectionExtensions.AddSpoolGrainFeed"/>, never by configuration). A spool used alone (the
/// spool benchmark, the storage tests) has none: nothing would ever consume it, so it must neither hold segments nor
/// fill up waiting for a consumer. A checkpoint that has no feed position (one line: written before the feed existed,
/// or by a spool without one) starts the feed at InfluxDB's position. That is the safe choice: it is the oldest
/// position whose records are certainly still on disk, so no durable record is skipped; at worst the grains are fed
/// again what InfluxDB had not yet taken when the checkpoint was written (once, after the upgrade).
/// </para>
/// <para>
/// This class composes the roles and owns their order; each role is its own type: <see cref="SpoolAppender"/> (group
/// commit, backpressure), <see cref="SpoolReader"/> (the drainer's and the feed's cursors), <see cref="SpoolLedger"/>
/// (what is committed, acknowledged, consumed and pending), <see cref="SpoolRecovery"/> (the scan on start),
/// <see cref="SpoolCheckpoint"/> (the checkpoint file) and <see cref="SpoolSegments"/> (the segment files).
/// </para>
/// </summary>
public sealed class WriteAheadSpool : ITelemetryWriter, IGrainFeed, IHostedService, IDisposable
{
    readonly SpoolOptions options;
    readonly ILogger<WriteAheadSpool> logger;
    readonly TimeProvider time;
    readonly SpoolSegments segments;
    readonly SpoolCheckpoint checkpoint;
    readonly SpoolLedger ledger;
    readonly SpoolAppender appender;
    readonly SpoolReader reader;
    readonly SpoolReader feedReader;
    readonly Lock releaseGate = new();
    readonly List<long> toRelease = [];
    bool checkpointPending;
    string? spoolId;

    /// <summary>A spool used alone: InfluxDB's drainer is its only consumer (no grain feed).</summary>
    public WriteAheadSpool(IOptions<SpoolOptions> options, TelemetryMetrics metrics, ILogger<WriteAheadSpool> logger, TimeProvider time)
        : this(options, Options.Create(new SpoolFeedSwitch()), metrics, logger, time)
    {
    }

    /// <summary>The spool with a grain feed when <paramref name="feed"/> says so (the service's).</summary>
    public WriteAheadSpool(IOptions<SpoolOptions> options, IOptions<SpoolFeedSwitch> feed, TelemetryMetrics metrics, ILogger<WriteAheadSpool> logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentNullException.ThrowIfNull(metrics);
        this.options = options.Value;
        FeedsGrains = feed.Value.Enabled;
        this.logger = logger;
        this.time = time;
        Health = new WritePathHealth(metrics, logger, time);
        segments = new SpoolSegments(System.IO.Path.GetFullPath(this.options.Path));
        checkpoint = new SpoolCheckpoint(segments.Directory, time, logger);
        ledger = new SpoolLedger(this.options.MaxBytes);
        var committed = new AsyncSignal();
        appender = new SpoolAppender(this.options, ledger, segments, committed, metrics, Health, logger, time);
        reader = new SpoolReader(ledger, segments, committed);
        feedReader = new SpoolReader(ledger, segments, committed);
        metrics.ObserveGauge("telemetry.spool.bytes", "By", "Bytes in the spool not yet acknowledged by InfluxDB", () => PendingBytes);
        metrics.ObserveGauge("telemetry.spool.pending.lines", "{line}", "Lines in the spool not yet acknowledged by InfluxDB", () => PendingLines);
        metrics.ObserveGauge("telemetry.spool.oldest.age", "s", "Age of the oldest reading not yet acknowledged by InfluxDB", () => (long)OldestPendingAge.TotalSeconds);
        metrics.ObserveGauge("telemetry.spool.full", "{state}", "1 while the spool is full and devices are not acknowledged", () => IsFull ? 1 : 0);
        if (FeedsGrains)
        {
            metrics.ObserveGauge("telemetry.spool.feed.bytes", "By", "Bytes in the spool not yet consumed by the grain feed", () => FeedLagBytes);
            metrics.ObserveGauge("telemetry.spool.feed.lines", "{line}", "Lines in the spool not yet consumed by the grain feed", () => FeedLagLines);
            metrics.ObserveGauge("telemetry.spool.feed.oldest.age", "s", "Age of the oldest record not yet consumed by the grain feed", () => (long)FeedOldestAge.TotalSeconds);
        }
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

    /// <summary>Bytes after the older consumer's position and room reserved by appends: what counts against <see cref="Capacity"/>.</summary>
    public long UsedBytes => ledger.UsedBytes;

    /// <summary>True when the grains are fed from this spool: a second consumer that holds back deletion and counts against the capacity.</summary>
    public bool FeedsGrains { get; }

    /// <summary>Bytes not yet consumed by the grain feed (0 without one).</summary>
    public long FeedLagBytes => ledger.FeedLagBytes;

    /// <summary>Lines not yet consumed by the grain feed (0 without one); counted per read, so it may err high by one read.</summary>
    public long FeedLagLines => ledger.FeedLagLines;

    /// <summary>How long the oldest record not yet consumed by the grain feed has waited (zero when none, or without a feed).</summary>
    public TimeSpan FeedOldestAge => ledger.FeedOldestAge(time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <inheritdoc/>
    public string SpoolId => spoolId ?? throw new InvalidOperationException("the spool has not started yet");

    /// <inheritdoc/>
    public SpoolPosition FeedConsumed => FeedsGrains ? ledger.FeedConsumed : throw NoFeed();

    public long PendingLines => ledger.PendingLines;

    public long PendingBytes => ledger.PendingBytes;

    public bool IsFull => appender.IsFull;

    /// <summary>How long the oldest reading not yet in InfluxDB has been waiting (zero when none).</summary>
    public TimeSpan OldestPendingAge => ledger.OldestPendingAge(time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>Recovers what is on disk, then starts appending to a new segment.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(segments.Directory);
        spoolId = SpoolIdentity.LoadOrCreate(segments.Directory);
        var saved = checkpoint.Load();
        // A one-line checkpoint has no feed position: the feed starts at InfluxDB's (see the class comment for why).
        var feedStart = FeedsGrains ? saved.Feed ?? saved.Acknowledged : (SpoolPosition?)null;
        var recovered = SpoolRecovery.Recover(segments, saved.Acknowledged, feedStart, logger);
        ledger.Restore(recovered);
        reader.MoveTo(recovered.Acknowledged);
        if (recovered.FeedConsumed is { } feedConsumed)
        {
            feedReader.MoveTo(feedConsumed);
        }

        appender.Start(recovered.NextSegment);
        return Task.CompletedTask;
    }

    /// <summary>Finishes the appends already taken (the broker has stopped by now) and closes the files.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await appender.CompleteAsync(cancellationToken);
        lock (releaseGate)
        {
            checkpointPending = true;
            Housekeep(force: true);
        }

        logger.LogInformation("Spool closed with {Lines} lines ({Bytes} bytes) not yet in InfluxDB; they are sent first on the next start",
            ledger.PendingLines, ledger.PendingBytes);
        if (FeedsGrains)
        {
            logger.LogInformation("Spool closed with {Lines} lines ({Bytes} bytes) not yet consumed by the grains; they are fed first on the next start",
                ledger.FeedLagLines, ledger.FeedLagBytes);
        }
    }

    /// <summary>Appends the lines of one message; completes when they are on disk (fsync).</summary>
    public ValueTask WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        return lines.Count == 0 ? ValueTask.CompletedTask : appender.AppendAsync(lines, cancellationToken);
    }

    /// <summary>
    /// Appends lines derived from readings already in the spool (roll-up windows, alert steps, states): they may use a
    /// reserve of a tenth of <see cref="SpoolOptions.MaxBytes"/> above it, so a spool filled with readings (InfluxDB
    /// away, grains behind) never stops the grains from writing what those readings produce — which would hold the
    /// grain feed, and with it the room the readings take. Past the reserve they wait like any append.
    /// </summary>
    public ValueTask WriteDerivedAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        return lines.Count == 0 ? ValueTask.CompletedTask : appender.AppendAsync(lines, cancellationToken, headroom: options.MaxBytes / 10);
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
    /// InfluxDB took <paramref name="batch"/> (or it was dead-lettered): move the checkpoint past it and free space
    /// (segments behind the grain feed too are deleted). The checkpoint file is rewritten at most every 250 ms, and
    /// always before a segment is deleted (<see cref="SpoolCheckpoint.Advance"/>).
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
        Released(ledger.Acknowledge(batch.End, batch.Bytes, batch.Lines.Count));
    }

    /// <summary>
    /// Waits for records after the feed's cursor and returns up to <paramref name="maxRecords"/> of them in spool order,
    /// one entry per record with where it ends and when it was appended.
    /// </summary>
    /// <exception cref="InvalidOperationException">The spool has no grain feed.</exception>
    public async ValueTask<IReadOnlyList<SpoolEntry>> ReadFeedAsync(int maxRecords, CancellationToken cancellationToken)
    {
        if (!FeedsGrains)
        {
            throw NoFeed();
        }

        var batch = await feedReader.ReadEntriesAsync(maxRecords, cancellationToken);
        ledger.FeedRead(batch.End, batch.Lines);
        return batch.Entries;
    }

    /// <summary>
    /// The grains applied and saved everything before <paramref name="position"/> (the end of a record the feed has
    /// read): the feed's consumed position moves there, is saved with the checkpoint, and segments behind both consumers
    /// are deleted. A position at or before the consumed one changes nothing. Never throws for a resource error, like
    /// <see cref="Acknowledge"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The spool has no grain feed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="position"/> lies beyond what the feed has read.</exception>
    public void ConsumeFeed(SpoolPosition position)
    {
        if (!FeedsGrains)
        {
            throw NoFeed();
        }

        Released(ledger.ConsumeFeed(position));
    }

    /// <summary>
    /// Moves the feed's read position back to its consumed position: the records after it are read again by the next
    /// <see cref="ReadFeedAsync"/> (InfluxDB's drainer, a separate cursor, is not affected). Their segments are still
    /// on disk: none after the consumed position is deleted. Called by the feed's one reader, never during its read.
    /// </summary>
    /// <exception cref="InvalidOperationException">The spool has no grain feed.</exception>
    public SpoolPosition RewindFeed()
    {
        if (!FeedsGrains)
        {
            throw NoFeed();
        }

        var consumed = ledger.RewindFeed();
        feedReader.MoveTo(consumed);
        return consumed;
    }

    /// <summary>After either consumer moved on: save the checkpoint when due, delete what was released, wake waiting appends.</summary>
    void Released(SpoolLedger.Release release)
    {
        lock (releaseGate)
        {
            toRelease.AddRange(release.Segments);
            checkpointPending = true;
            Housekeep(force: false);
        }

        appender.NoteSpaceFreed(release.RoomAgain);
    }

    static InvalidOperationException NoFeed() =>
        new("this spool has no grain feed: the host that runs the grain feeder turns it on (AddSpoolGrainFeed)");

    /// <summary>Retries a checkpoint update or segment deletion that failed; true when nothing is left to do.</summary>
    public bool RetryHousekeeping()
    {
        lock (releaseGate)
        {
            Housekeep(force: true);
            return !checkpointPending && toRelease.Count == 0;
        }
    }

    /// <summary>
    /// Under <see cref="releaseGate"/>: saves the checkpoint when due, then deletes the released segments. The positions
    /// saved are read from the ledger here, under the gate, so that whichever consumer comes last saves the newest
    /// positions of both — never older ones than the segments it deletes are behind.
    /// </summary>
    void Housekeep(bool force)
    {
        if (checkpointPending)
        {
            try
            {
                if (checkpoint.Advance(ledger.Positions, mustPersist: force || toRelease.Count > 0))
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
        feedReader.Forget(toRelease);
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
        feedReader.Dispose();
    }
}
