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
/// </summary>
public sealed class GrainFeeder : BackgroundService
{
    /// <summary>At stop, how long a read may find nothing before the feed counts as drained.</summary>
    static readonly TimeSpan DrainIdle = TimeSpan.FromMilliseconds(250);

    /// <summary>At stop, the longest time spent feeding what the broker left before the final checkpoint round.</summary>
    static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(5);

    static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

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

                if (time.GetElapsedTime(lastRound) >= options.FeedCheckpointInterval)
                {
                    await CheckpointRoundAsync();
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
            await Task.WhenAll(bySensor.Select(s => IngestAsync(s.Key, new FeedBatch(spoolId, s.Value), cancellationToken)));
        }

        fedUpTo = entries[^1].End;
    }

    async Task IngestAsync(string sensor, FeedBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            await retry.ExecuteAsync(async (state, _) =>
            {
                metrics.FeedCalls.Add(1);
                await grains.GetGrain<ISensorGrain>(state.Sensor).IngestBatch(state.Batch);
            }, (Sensor: sensor, Batch: batch), cancellationToken);
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
        }
    }

    /// <summary>
    /// Every sensor fed since the last round saves its state; when all did, the feed's consumed position moves to the
    /// end of the last batch fed. Not cancelled: it is also the stop's last step.
    /// </summary>
    async Task CheckpointRoundAsync()
    {
        lastRound = time.GetTimestamp();
        if (!RoundPending || fedUpTo is not { } target)
        {
            return;
        }

        var started = time.GetTimestamp();
        var sensors = unsaved.ToArray();
        var saved = await Task.WhenAll(sensors.Select(CheckpointAsync));
        for (var i = 0; i < sensors.Length; i++)
        {
            if (saved[i])
            {
                unsaved.Remove(sensors[i]);
            }
        }

        var done = unsaved.Count == 0;
        if (done)
        {
            try
            {
                feed.ConsumeFeed(target);
                consumed = target;
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
    }

    async Task<bool> CheckpointAsync(string sensor)
    {
        try
        {
            await retry.ExecuteAsync(static async (state, _) => await state.Grains.GetGrain<ISensorGrain>(state.Sensor).Checkpoint(),
                (Grains: grains, Sensor: sensor), CancellationToken.None);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Sensor {Sensor}: could not save its state at the grain feed's checkpoint ({Reason}): {Error}",
                Text.ForLog(sensor), ReasonOf(ex), ex.Message);
            return false;
        }
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
