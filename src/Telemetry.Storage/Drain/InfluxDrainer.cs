using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Telemetry.Domain.Observability;
using Telemetry.Storage.Influx;
using Telemetry.Storage.Reports;
using Telemetry.Storage.Spool;

namespace Telemetry.Storage.Drain;

/// <summary>
/// Moves the spool into InfluxDB: reads batches of up to <see cref="WriterOptions.MaxBatchLines"/> lines in spool
/// order, writes each (gzip), and acknowledges it in the spool only after a 2xx.
/// <list type="bullet">
/// <item>Timeouts, connection errors, 408/429/5xx, and configuration errors (401/403/404) are retried with
///   exponential backoff and jitter, honouring Retry-After, for as long as it takes (Polly); the spool holds the data.</item>
/// <item>400/413/422 are never retried as is: the batch is halved until the lines InfluxDB refuses stand alone; the good
///   ones are written, each refused one goes to the dead-letter file with InfluxDB's reason.</item>
/// <item>An outage is logged once when it starts and once when it ends, not per batch.</item>
/// </list>
/// </summary>
public sealed class InfluxDrainer : BackgroundService
{
    readonly WriteAheadSpool spool;
    readonly IInfluxTarget target;
    readonly WriterOptions options;
    readonly SpoolOptions spoolOptions;
    readonly TelemetryMetrics metrics;
    readonly ILogger<InfluxDrainer> logger;
    readonly DeadLetters deadLetters;
    readonly IReportMarks marks;
    readonly ResiliencePipeline pipeline;
    readonly ResiliencePipeline roundPipeline;
    static readonly TimeSpan HousekeepingRetry = TimeSpan.FromMilliseconds(250);
    static readonly TimeSpan MaxRoundDelay = TimeSpan.FromSeconds(30);
    readonly CancellationTokenSource shutdown = new();
    readonly CancellationTokenSource stopRequested = new();
    volatile bool stopping;
    long outageStartedTicks;

    public InfluxDrainer(
        WriteAheadSpool spool,
        IInfluxTarget target,
        IOptions<WriterOptions> options,
        IOptions<SpoolOptions> spoolOptions,
        TelemetryMetrics metrics,
        ILogger<InfluxDrainer> logger,
        TimeProvider time,
        IReportMarks marks)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(spoolOptions);
        ArgumentNullException.ThrowIfNull(spool);
        this.spool = spool;
        this.target = target;
        this.options = options.Value;
        this.spoolOptions = spoolOptions.Value;
        this.metrics = metrics;
        this.logger = logger;
        this.marks = marks ?? NoReportMarks.Instance;
        deadLetters = new DeadLetters(Path.Combine(spool.Directory, "dead-letter"), metrics, logger, time);
        pipeline = BuildPipeline();
        roundPipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                // Whatever a round throws that is not the shutdown: it was counted and logged in the round.
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException || !shutdown.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = MaxRoundDelay,
            })
            .Build();
    }

    /// <summary>True while writes to InfluxDB are failing and being retried.</summary>
    public bool InOutage => Interlocked.Read(ref outageStartedTicks) != 0;

    public string DeadLetterDirectory => deadLetters.Directory;

    /// <summary>
    /// Graceful stop: keep draining until the spool is empty or <see cref="SpoolOptions.ShutdownDrainTimeout"/> has
    /// passed; what is left stays in the spool for the next start.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        stopping = true;
        await stopRequested.CancelAsync();
        shutdown.CancelAfter(spoolOptions.ShutdownDrainTimeout);
        try
        {
            if (ExecuteTask is { } running)
            {
                await running.WaitAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            await base.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// The drain loop. It never ends by an exception: a resource error of one round (a segment that cannot be opened
    /// for EMFILE, a dead-letter file on a full disk, out of memory, even a damaged segment) is counted and logged by
    /// <see cref="WritePathHealth"/> (the stage stays failing, /health/ready Degraded) and the round is retried with
    /// backoff — with the same batch, which is acknowledged only once InfluxDB took it — until it succeeds. Only the
    /// shutdown deadline ends it.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        logger.LogInformation("Draining the spool into InfluxDB at {Target}", target.Describe());
        var ct = shutdown.Token;
        SpoolBatch? batch = null;
        try
        {
            while (true)
            {
                var done = await roundPipeline.ExecuteAsync(async token =>
                {
                    string stage = "spool_read";
                    try
                    {
                        if (batch is null)
                        {
                            if (stopping)
                            {
                                batch = spool.TryRead(options.MaxBatchLines);
                                if (batch is null)
                                {
                                    return true; // stopping and nothing left
                                }
                            }
                            else
                            {
                                batch = await NextBatchAsync();
                                if (batch is null)
                                {
                                    return false; // the stop request: drain what is left, then stop
                                }
                            }

                            spool.Health.Succeeded(stage);
                        }

                        stage = "drain";
                        var started = Stopwatch.GetTimestamp();
                        await WriteAsync(batch.Lines, token);
                        metrics.WriteDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                        // Late readings mark their report days once InfluxDB holds them, before the spool forgets them.
                        marks.Note(batch.Lines);
                        spool.Acknowledge(batch);
                        batch = null;
                        spool.Health.Succeeded(stage);
                        return false;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                    {
                        spool.Health.Failed(stage, ex);
                        throw;
                    }
                }, ct);
                if (done)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutdown deadline: the rest stays in the spool.
        }
    }

    /// <summary>
    /// Waits for the next batch; while a checkpoint update or segment deletion is owed (it failed, or was held back
    /// by the 250 ms rate), retries it in between, with backoff while it keeps failing. Null when the stop request
    /// interrupted the wait.
    /// </summary>
    async Task<SpoolBatch?> NextBatchAsync()
    {
        var delay = HousekeepingRetry;
        while (true)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stopRequested.Token);
            if (spool.HousekeepingPending)
            {
                wait.CancelAfter(delay);
            }

            try
            {
                return await spool.ReadAsync(options.MaxBatchLines, wait.Token);
            }
            catch (OperationCanceledException) when (stopRequested.IsCancellationRequested)
            {
                return null; // drain what is left, then stop
            }
            catch (OperationCanceledException)
            {
                delay = spool.RetryHousekeeping() ? HousekeepingRetry : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRoundDelay.Ticks));
            }
        }
    }

    async Task WriteAsync(IReadOnlyList<string> lines, CancellationToken ct)
    {
        try
        {
            await pipeline.ExecuteAsync(static (state, token) => new ValueTask(state.target.WriteAsync(state.lines, token)),
                (target, lines), ct);
            metrics.LinesWritten.Add(lines.Count);
            metrics.BatchesWritten.Add(1);
            NoteSuccess();
        }
        catch (InfluxWriteException ex) when (ex.Kind == WriteFailureKind.DataRejected)
        {
            NoteSuccess(); // InfluxDB answers; it refuses this data.
            if (lines.Count == 1)
            {
                deadLetters.Write(lines[0], ex);
                return;
            }

            logger.LogWarning("InfluxDB refused a batch of {Lines} lines ({Reason}); splitting it to isolate the refused lines: {Error}",
                lines.Count, ex.Reason, ex.Message);
            var half = lines.Count / 2;
            await WriteAsync([.. lines.Take(half)], ct);
            await WriteAsync([.. lines.Skip(half)], ct);
        }
    }

    ResiliencePipeline BuildPipeline() => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<InfluxWriteException>(ex => ex.Kind != WriteFailureKind.DataRejected),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = options.MaxRetryDelay,
            DelayGenerator = static args => ValueTask.FromResult(
                args.Outcome.Exception is InfluxWriteException { RetryAfter: { } retryAfter } ? (TimeSpan?)retryAfter : null),
            OnRetry = args =>
            {
                var error = args.Outcome.Exception as InfluxWriteException;
                metrics.WriteRetries.Add(1, new KeyValuePair<string, object?>("reason", error?.Reason ?? "unknown"));
                NoteFailure(error);
                return default;
            },
        })
        .Build();

    void NoteFailure(InfluxWriteException? error)
    {
        if (Interlocked.CompareExchange(ref outageStartedTicks, Stopwatch.GetTimestamp(), 0) != 0)
        {
            return;
        }

        if (error?.Kind == WriteFailureKind.Misconfigured)
        {
            logger.LogError("InfluxDB refuses our writes ({Reason}): check Influx:Token, Influx:Database/Bucket and permissions; readings stay in the spool and are retried: {Error}",
                error.Reason, error.Message);
        }
        else
        {
            logger.LogWarning("InfluxDB is not taking writes ({Reason}); readings stay in the spool and are retried with backoff: {Error}",
                error?.Reason, error?.Message);
        }
    }

    void NoteSuccess()
    {
        var since = Interlocked.Exchange(ref outageStartedTicks, 0);
        if (since != 0)
        {
            logger.LogInformation("InfluxDB takes writes again after {Outage}; {Lines} lines wait in the spool",
                Stopwatch.GetElapsedTime(since), spool.PendingLines);
        }
    }

    public override void Dispose()
    {
        shutdown.Dispose();
        stopRequested.Dispose();
        base.Dispose();
    }
}
