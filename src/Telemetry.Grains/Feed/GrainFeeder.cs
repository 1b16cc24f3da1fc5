using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Telemetry.Contracts;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Storage;
using Telemetry.Storage.Spool;

namespace Telemetry.Grains.Feed;

/// <summary>
/// Hands what the broker made durable in this node's spool to the sensor grains, off the acknowledgement path
/// (docs/operations.md#grain-feed). It reads the spool's grain feed (<see cref="IGrainFeed"/>) in batches, keeps the
/// records of raw <c>telemetry</c> lines (grains' own derived records are passed over), reads each back into its
/// message (<see cref="RawLineParser"/>; the record's append time is its receive time, so a replay is the same
/// message), groups them by sensor in spool order and calls <see cref="ISensorGrain.IngestBatch"/> for all sensors of
/// the batch at once; the next batch is read when every call of this one returned, so a sensor has one batch in
/// flight at a time and takes its messages in order.
/// <para>
/// Every <see cref="GrainFeedOptions.FeedCheckpointInterval"/>, and once more when the service stops (after the
/// broker, before the spool: see the registration order), a checkpoint round has every sensor fed since the last
/// round save its state (<see cref="ISensorGrain.Checkpoint"/>) and only then moves the feed's consumed position to
/// the end of the last batch fed. After a crash the feed starts again at that position and every grain skips what
/// its saved position already covers: each message is applied exactly once.
/// </para>
/// <para>
/// A failed grain call is retried with exponential backoff and jitter (Polly) up to
/// <see cref="GrainFeedOptions.FeedMaxAttempts"/> attempts; then that sensor's messages of the batch are given up,
/// counted and logged with the reason (their raw lines are in the spool and go to InfluxDB regardless), so one broken
/// grain cannot stop every other sensor's feed. A raw record that does not read back is counted and logged the same
/// way and never stops the feed. A checkpoint round in which a sensor fails to save leaves the consumed position
/// where it was (nothing is given up) and tries that sensor again at the next round.
/// </para>
/// <para>
/// A grain may live on another node, which may die after the grain took messages and before it saved them: its next
/// activation (on a surviving node) has the older state. So each batch tells the grain the last position this feeder
/// handed it before (<see cref="FeedBatch.HandedBefore"/>; a grain behind it sets the batch aside), and the checkpoint
/// asks each grain whether its saved state holds the last message handed to it. When one does not, the consumed
/// position stays, the feed's read position moves back to it (<see cref="IGrainFeed.RewindFeed"/>, counted in
/// <c>telemetry_grains_feed_rewinds_total{reason}</c> and logged) and everything after it is fed again: every grain
/// skips what it holds, the one that lost messages takes them again in order.
/// </para>
/// </summary>
public sealed class GrainFeeder : BackgroundService
{
    /// <summary>At stop, how long a read may find nothing before the feed counts as drained.</summary>
    static readonly TimeSpan DrainIdle = TimeSpan.FromMilliseconds(250);

    /// <summary>At stop, the longest time spent feeding what the broker left before the final checkpoint round.</summary>
    static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(5);

    static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a batch is tried again while its grain's calls fail with cluster errors or time-outs, beyond the
    /// <see cref="GrainFeedOptions.FeedMaxAttempts"/> of one round: longer than Orleans takes to declare a dead node dead
    /// and place the grain on a survivor. The feed waits meanwhile (the spool holds the messages).
    /// </summary>
    static readonly TimeSpan ClusterOutageBudget = TimeSpan.FromMinutes(3);

    /// <summary>Pause after a failed read of the spool before the next.</summary>
    static readonly TimeSpan ReadRetryDelay = TimeSpan.FromSeconds(1);

    readonly IGrainFeed feed;
    readonly IGrainFactory grains;
    readonly GrainFeedOptions options;
    readonly TelemetryMetrics metrics;
    readonly TimeProvider time;
    readonly ILogger<GrainFeeder> logger;
    readonly ResiliencePipeline retry;
    readonly LogThrottle logThrottle;

    /// <summary>Sensors that took messages since their last successful checkpoint.</summary>
    readonly HashSet<string> unsaved = new(StringComparer.Ordinal);

    /// <summary>Per sensor, the last message handed to it (its call returned) since the consumed position.</summary>
    readonly Dictionary<string, FeedPosition> handed = new(StringComparer.Ordinal);

    /// <summary>End of the last batch whose every message was handed over (or given up).</summary>
    SpoolPosition? fedUpTo;
    SpoolPosition consumed;
    long lastRound;

    public GrainFeeder(IGrainFeed feed, IGrainFactory grains, IOptions<GrainFeedOptions> options, TelemetryMetrics metrics, TimeProvider time,
        ILogger<GrainFeeder> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.feed = feed;
        this.grains = grains;
        this.options = options.Value;
        this.metrics = metrics;
        this.time = time;
        this.logger = logger;
        logThrottle = new LogThrottle(LogInterval, time, maxKeys: 64);
        retry = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = this.options.FeedMaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = this.options.FeedMaxRetryDelay,
                // Cancellation is the service stopping (the batch then counts as not fed), never a reason to retry.
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
                OnRetry = args =>
                {
                    var reason = ReasonOf(args.Outcome.Exception);
                    metrics.FeedCallRetries.Add(1, new KeyValuePair<string, object?>("reason", reason));
                    if (logThrottle.ShouldLog("retry:" + reason, out var suppressed))
                    {
                        logger.LogWarning("A sensor grain call of the grain feed failed ({Reason}: {Error}); retrying in {Delay} ({Suppressed} other retries for this reason not logged in the last {Interval})",
                            reason, args.Outcome.Exception?.Message, args.RetryDelay, suppressed, LogInterval);
                    }

                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Off the host's start: the first read waits for records.
        await Task.Yield();
        consumed = feed.FeedConsumed;
        lastRound = time.GetTimestamp();
        var complete = true;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                IReadOnlyList<SpoolEntry> entries;
                try
                {
                    entries = await ReadAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    // The spool counts and logs its own resource errors; the feed waits and reads again.
                    if (logThrottle.ShouldLog("read", out var suppressed))
                    {
                        logger.LogError("The grain feed could not read the spool ({Error}); retrying in {Delay} ({Suppressed} others not logged in the last {Interval})",
                            ex.Message, ReadRetryDelay, suppressed, LogInterval);
                    }

                    await Task.Delay(ReadRetryDelay, time, stoppingToken);
                    continue;
                }

                if (entries.Count > 0)
                {
                    complete = false;
                    await FeedAsync(entries, stoppingToken);
                    complete = true;
                }

                if (time.GetElapsedTime(lastRound) >= options.FeedCheckpointInterval && await CheckpointRoundAsync() is { } behind)
                {
                    Rewind(behind);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: below.
        }

        // The broker has stopped (it stops before this service): what it appended last is fed now, so that the
        // restart replays as little as possible. A batch cut short by the stop ends the feed here: nothing after it
        // may count as fed.
        if (complete)
        {
            await DrainAsync();
        }

        // A grain found behind here is fed again after the restart, from the consumed position that stayed.
        await CheckpointRoundAsync();
    }

    /// <summary>A round has work: sensors to save, or a consumed position to move (past records the grains do not take).</summary>
    bool RoundPending => unsaved.Count > 0 || (fedUpTo is { } fed && fed > consumed);

    /// <summary>The next records, or none when a checkpoint round is due before any arrive.</summary>
    async Task<IReadOnlyList<SpoolEntry>> ReadAsync(CancellationToken stoppingToken)
    {
        if (!RoundPending)
        {
            return await feed.ReadFeedAsync(options.FeedBatchRecords, stoppingToken);
        }

        var untilRound = options.FeedCheckpointInterval - time.GetElapsedTime(lastRound);
        if (untilRound <= TimeSpan.Zero)
        {
            return [];
        }

        using var roundDue = new CancellationTokenSource(untilRound, time);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, roundDue.Token);
        try
        {
            return await feed.ReadFeedAsync(options.FeedBatchRecords, wait.Token);
        }
        catch (OperationCanceledException) when (roundDue.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
        {
            return [];
        }
    }

    async Task DrainAsync()
    {
        using var limit = new CancellationTokenSource(DrainLimit, time);
        while (!limit.IsCancellationRequested)
        {
            IReadOnlyList<SpoolEntry> entries;
            using (var idle = CancellationTokenSource.CreateLinkedTokenSource(limit.Token))
            {
                idle.CancelAfter(DrainIdle);
                try
                {
                    entries = await feed.ReadFeedAsync(options.FeedBatchRecords, idle.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            if (entries.Count == 0)
            {
                return;
            }

            try
            {
                await FeedAsync(entries, limit.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One batch: every sensor's messages to its grain at once; returns when all calls returned or were given up.</summary>
    async Task FeedAsync(IReadOnlyList<SpoolEntry> entries, CancellationToken cancellationToken)
    {
        var bySensor = new Dictionary<string, List<FedMessage>>(StringComparer.Ordinal);
        var messages = 0;
        foreach (var entry in entries)
        {
            if (!RawLineParser.IsRawRecord(entry.Lines))
            {
                continue;
            }

            TelemetryMessage message;
            try
            {
                message = RawLineParser.ParseRecord(entry.Lines, entry.AppendedAtMs);
            }
            catch (RawLineFormatException ex)
            {
                metrics.FeedRecordsSkipped.Add(1, new KeyValuePair<string, object?>("reason", ex.Reason));
                if (logThrottle.ShouldLog("record:" + ex.Reason, out var suppressed))
                {
                    logger.LogError("Spool record at {Position} does not read back as a message ({Reason}: {Error}); its lines still go to InfluxDB, the grains do not get it ({Suppressed} others for this reason not logged in the last {Interval})",
                        entry.End, ex.Reason, ex.Message, suppressed, LogInterval);
                }

                continue;
            }

            if (!bySensor.TryGetValue(message.Address.Sensor, out var list))
            {
                bySensor[message.Address.Sensor] = list = [];
            }

            list.Add(new FedMessage(entry.End.Segment, entry.End.Offset, message));
            messages++;
        }

        if (messages > 0)
        {
            // Counted before the calls: a sensor whose call is cut short by a stop may have taken its messages.
            unsaved.UnionWith(bySensor.Keys);
            metrics.FeedBatches.Add(1);
            metrics.FeedMessages.Add(messages);
            metrics.FeedBatchSize.Record(messages);
            var spoolId = feed.SpoolId;
            var sensors = bySensor.Keys.ToArray();
            var taken = await Task.WhenAll(sensors.Select(s =>
                IngestAsync(s, new FeedBatch(spoolId, bySensor[s], handed.GetValueOrDefault(s)), cancellationToken)));
            for (var i = 0; i < sensors.Length; i++)
            {
                if (taken[i])
                {
                    var last = bySensor[sensors[i]][^1];
                    handed[sensors[i]] = new FeedPosition(last.Segment, last.Offset);
                }
            }
        }

        fedUpTo = entries[^1].End;
    }

    /// <summary>One sensor's messages of a batch; true when its call returned (false: given up, after counting and logging).</summary>
    async Task<bool> IngestAsync(string sensor, FeedBatch batch, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        try
        {
            while (true)
            {
                try
                {
                    await retry.ExecuteAsync(async (state, _) =>
                    {
                        metrics.FeedCalls.Add(1);
                        await grains.GetGrain<ISensorGrain>(state.Sensor).IngestBatch(state.Batch);
                    }, (Sensor: sensor, Batch: batch), cancellationToken);
                    return true;
                }
                catch (Exception ex) when (ex is OrleansException or TimeoutException && time.GetElapsedTime(started) < ClusterOutageBudget)
                {
                    // The grain's node is gone or unreachable and Orleans has not declared it dead yet (that takes tens
                    // of seconds): the grain will be activated on a survivor, so the batch is not given up for that.
                    if (logThrottle.ShouldLog("cluster-outage", out var suppressed))
                    {
                        logger.LogWarning("Sensor {Sensor}: its grain stays unreachable ({Error}); the grain feed keeps trying for up to {Budget} ({Suppressed} others not logged in the last {Interval})",
                            Text.ForLog(sensor), ex.Message, ClusterOutageBudget, suppressed, LogInterval);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var reason = ReasonOf(ex);
            metrics.FeedMessagesGivenUp.Add(batch.Messages.Count, new KeyValuePair<string, object?>("reason", reason));
            if (logThrottle.ShouldLog("given-up:" + reason, out var suppressed))
            {
                logger.LogError("Sensor {Sensor}: gave up feeding it {Count} message(s) after {Attempts} attempts ({Reason}: {Error}); their raw readings are stored, its roll-ups and alerts miss them ({Suppressed} others for this reason not logged in the last {Interval})",
                    Text.ForLog(sensor), batch.Messages.Count, options.FeedMaxAttempts, reason, ex.Message, suppressed, LogInterval);
            }

            return false;
        }
    }

    /// <summary>
    /// Every sensor fed since the last round saves its state; when all did and each holds what was handed to it, the
    /// feed's consumed position moves to the end of the last batch fed. Returns the sensors whose saved state does not
    /// hold what was handed to them (the consumed position then stays; the caller rewinds), or null. Not cancelled: it
    /// is also the stop's last step.
    /// </summary>
    async Task<IReadOnlyList<string>?> CheckpointRoundAsync()
    {
        lastRound = time.GetTimestamp();
        if (!RoundPending || fedUpTo is not { } target)
        {
            return null;
        }

        var started = time.GetTimestamp();
        var sensors = unsaved.ToArray();
        var results = await Task.WhenAll(sensors.Select(s => CheckpointAsync(s, handed.GetValueOrDefault(s))));
        var behind = new List<string>();
        for (var i = 0; i < sensors.Length; i++)
        {
            if (results[i] == CheckpointResult.Covered)
            {
                unsaved.Remove(sensors[i]);
            }
            else if (results[i] == CheckpointResult.Behind)
            {
                behind.Add(sensors[i]);
            }
        }

        if (behind.Count > 0)
        {
            metrics.FeedCheckpoints.Add(1, new KeyValuePair<string, object?>("result", "behind"));
            metrics.FeedCheckpointDuration.Record(time.GetElapsedTime(started).TotalSeconds);
            return behind;
        }

        var done = unsaved.Count == 0;
        if (done)
        {
            try
            {
                feed.ConsumeFeed(target);
                consumed = target;
                // Every grain's saved state holds what it was handed up to here: nothing to check before the next batch.
                handed.Clear();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Not moved: the next round moves it (the sensors' states already cover the position).
                done = false;
                logger.LogError("Grain feed checkpoint: the consumed position could not move to {Position}: {Error}", target, ex.Message);
            }
        }
        else if (logThrottle.ShouldLog("checkpoint", out var suppressed))
        {
            logger.LogError("Grain feed checkpoint: {Failed} of {Count} sensor grains could not save their state; the feed's consumed position stays at {Position} and they are tried again at the next round ({Suppressed} failed rounds not logged in the last {Interval})",
                unsaved.Count, sensors.Length, consumed, suppressed, LogInterval);
        }

        metrics.FeedCheckpoints.Add(1, new KeyValuePair<string, object?>("result", done ? "done" : "failed"));
        metrics.FeedCheckpointDuration.Record(time.GetElapsedTime(started).TotalSeconds);
        return null;
    }

    async Task<CheckpointResult> CheckpointAsync(string sensor, FeedPosition? handedUpTo)
    {
        try
        {
            var covered = await retry.ExecuteAsync(static async (state, _) =>
                    await state.Grains.GetGrain<ISensorGrain>(state.Sensor).Checkpoint(state.SpoolId, state.HandedUpTo),
                (Grains: grains, Sensor: sensor, feed.SpoolId, HandedUpTo: handedUpTo), CancellationToken.None);
            return covered ? CheckpointResult.Covered : CheckpointResult.Behind;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Sensor {Sensor}: could not save its state at the grain feed's checkpoint ({Reason}): {Error}",
                Text.ForLog(sensor), ReasonOf(ex), ex.Message);
            return CheckpointResult.Failed;
        }
    }

    /// <summary>
    /// Some grains' saved state does not hold what this feeder handed them (their node died before they saved): the
    /// read position moves back to the consumed position and everything after it is fed again; the grains skip what
    /// they hold. What was handed and fed since then counts as not handed.
    /// </summary>
    void Rewind(IReadOnlyList<string> behind)
    {
        var from = feed.RewindFeed();
        metrics.FeedRewinds.Add(1, new KeyValuePair<string, object?>("reason", "grain_behind"));
        logger.LogWarning("Grain feed rewound to {Position}: {Count} sensor grain(s) lost messages fed to them before they saved them (their node died?), e.g. {Sensors}; feeding again from there",
            from, behind.Count, string.Join(", ", behind.Take(5).Select(Text.ForLog)));
        consumed = from;
        fedUpTo = null;
        handed.Clear();
        unsaved.Clear();
    }

    enum CheckpointResult
    {
        /// <summary>Saved, and the saved state holds what was handed to it.</summary>
        Covered,

        /// <summary>Saved, but its saved state lacks messages handed to it: the feed rewinds.</summary>
        Behind,

        /// <summary>The call failed: tried again at the next round.</summary>
        Failed,
    }

    /// <summary>A fixed label for why a grain call failed (metrics and log throttling; never the message text).</summary>
    static string ReasonOf(Exception? ex) => ex switch
    {
        TimeoutException => "timeout",
        IOException or UnauthorizedAccessException => "io",
        OrleansException => "cluster",
        null => "unknown",
        _ => "grain_error",
    };
}
