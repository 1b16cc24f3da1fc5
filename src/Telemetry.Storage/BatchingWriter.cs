using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Telemetry.Domain.Observability;
using Telemetry.Storage.Influx;

namespace Telemetry.Storage;

/// <summary>
/// Gathers the lines of many messages into batches (up to <see cref="WriterOptions.MaxBatchLines"/>) and writes them
/// to InfluxDB, <see cref="WriterOptions.MaxConcurrentBatches"/> at a time. Batching is natural: while a batch is in
/// flight, the next one fills, so batches are small at low load and large at high load. A message's
/// <see cref="WriteAsync"/> completes when InfluxDB acknowledged its batch.
/// Transient failures are retried with exponential backoff and jitter (honouring Retry-After) until
/// <see cref="WriterOptions.RetryDeadline"/>; a batch InfluxDB refuses (4xx) is split by message so that one bad
/// message fails alone.
/// </summary>
public sealed class BatchingWriter : BackgroundService, ITelemetryWriter
{
    readonly Channel<PendingWrite> queue;
    readonly IInfluxTarget target;
    readonly WriterOptions options;
    readonly TelemetryMetrics metrics;
    readonly ILogger<BatchingWriter> logger;
    readonly ResiliencePipeline pipeline;
    long pendingLines;
    long outageStartedTicks;

    public BatchingWriter(IInfluxTarget target, IOptions<WriterOptions> options, TelemetryMetrics metrics, ILogger<BatchingWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        this.target = target;
        this.options = options.Value;
        this.metrics = metrics;
        this.logger = logger;
        queue = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(this.options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
        pipeline = BuildPipeline();
        metrics.ObserveGauge("telemetry.writer.pending.lines", "{line}",
            "Lines handed to the writer and not yet acknowledged by InfluxDB", () => Interlocked.Read(ref pendingLines));
    }

    public long PendingLines => Interlocked.Read(ref pendingLines);

    /// <summary>True while writes are failing and being retried.</summary>
    public bool InOutage => Interlocked.Read(ref outageStartedTicks) != 0;

    public async ValueTask WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
        {
            return;
        }

        var pending = new PendingWrite(lines);
        Interlocked.Add(ref pendingLines, lines.Count);
        try
        {
            await queue.Writer.WriteAsync(pending, cancellationToken);
        }
        catch (ChannelClosedException ex)
        {
            Interlocked.Add(ref pendingLines, -lines.Count);
            throw new OperationCanceledException("the write pipeline is stopping", ex);
        }
        catch
        {
            Interlocked.Add(ref pendingLines, -lines.Count);
            throw;
        }

        await pending.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Graceful stop: the broker has stopped taking messages by now (it stops first), so the queue is closed and
    /// drained until the host's shutdown timeout; whatever is still pending after that fails, unacknowledged.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Writer.TryComplete();
        if (ExecuteTask is { } running)
        {
            try
            {
                await running.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                logger.LogWarning("Stopped before {Lines} pending lines were written; their devices were not acknowledged", PendingLines);
            }
        }

        await base.StopAsync(CancellationToken.None);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("Writing readings to InfluxDB at {Target}", target.Describe());
        var workers = new Task[options.MaxConcurrentBatches];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(() => RunWorkerAsync(stoppingToken), CancellationToken.None);
        }

        return Task.WhenAll(workers);
    }

    async Task RunWorkerAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PendingWrite>();
        var lines = new List<string>(options.MaxBatchLines);
        try
        {
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                lines.Clear();
                while (lines.Count < options.MaxBatchLines && queue.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                    lines.AddRange(next.Lines);
                }

                if (batch.Count > 0)
                {
                    await WriteBatchAsync(batch, lines, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: what is still queued is failed below, so its devices are not acknowledged.
        }

        while (queue.Reader.TryRead(out var left))
        {
            Complete([left], new OperationCanceledException("the service is stopping"));
        }
    }

    async Task WriteBatchAsync(List<PendingWrite> batch, List<string> lines, CancellationToken stoppingToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await pipeline.ExecuteAsync(static (state, ct) => new ValueTask(state.target.WriteAsync(state.lines, ct)),
                (target, lines), stoppingToken);
            metrics.WriteDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            metrics.LinesWritten.Add(lines.Count);
            metrics.BatchesWritten.Add(1);
            NoteSuccess();
            Complete(batch, null);
        }
        catch (InfluxWriteException ex) when (!ex.Transient && batch.Count > 1)
        {
            // InfluxDB refused the batch as a whole: write each message on its own so that only the bad one fails.
            logger.LogWarning("InfluxDB refused a batch of {Lines} lines ({Status}); writing its {Messages} messages one by one: {Error}",
                lines.Count, ex.StatusCode, batch.Count, ex.Message);
            foreach (var single in batch)
            {
                await WriteBatchAsync([single], [.. single.Lines], stoppingToken);
            }
        }
        catch (Exception ex) when (ex is InfluxWriteException or TimeoutRejectedException)
        {
            var reason = ex is InfluxWriteException iwe ? iwe.Reason : "retry_deadline";
            metrics.WriteFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));
            logger.LogError("Gave up writing {Lines} lines of {Messages} messages to InfluxDB ({Reason}); their devices are not acknowledged: {Error}",
                lines.Count, batch.Count, reason, ex.Message);
            Complete(batch, ex);
        }
        catch (OperationCanceledException ex) when (stoppingToken.IsCancellationRequested)
        {
            Complete(batch, ex);
            throw;
        }
    }

    void Complete(List<PendingWrite> batch, Exception? error)
    {
        foreach (var pending in batch)
        {
            Interlocked.Add(ref pendingLines, -pending.Lines.Count);
            if (error is null)
            {
                pending.Done.TrySetResult();
            }
            else
            {
                pending.Done.TrySetException(error);
            }
        }
    }

    ResiliencePipeline BuildPipeline() => new ResiliencePipelineBuilder()
        .AddTimeout(new TimeoutStrategyOptions { Timeout = options.RetryDeadline })
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<InfluxWriteException>(ex => ex.Transient),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(10),
            DelayGenerator = static args => ValueTask.FromResult(
                args.Outcome.Exception is InfluxWriteException { RetryAfter: { } retryAfter } ? (TimeSpan?)retryAfter : null),
            OnRetry = args =>
            {
                var reason = args.Outcome.Exception is InfluxWriteException iwe ? iwe.Reason : "unknown";
                metrics.WriteRetries.Add(1, new KeyValuePair<string, object?>("reason", reason));
                NoteFailure(args.Outcome.Exception);
                return default;
            },
        })
        .Build();

    void NoteFailure(Exception? error)
    {
        if (Interlocked.CompareExchange(ref outageStartedTicks, Stopwatch.GetTimestamp(), 0) == 0)
        {
            logger.LogWarning("InfluxDB writes are failing; retrying with backoff while devices wait for their acknowledgements: {Error}",
                error?.Message);
        }
    }

    void NoteSuccess()
    {
        var since = Interlocked.Exchange(ref outageStartedTicks, 0);
        if (since != 0)
        {
            logger.LogInformation("InfluxDB writes succeed again after {Outage}", Stopwatch.GetElapsedTime(since));
        }
    }

    sealed class PendingWrite(IReadOnlyList<string> lines)
    {
        public IReadOnlyList<string> Lines { get; } = lines;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
