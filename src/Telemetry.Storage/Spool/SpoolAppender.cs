using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Telemetry.Domain.Observability;

namespace Telemetry.Storage.Spool;

/// <summary>
/// Makes messages durable. <see cref="AppendAsync"/> reserves room in the <see cref="SpoolLedger"/> (waiting while the
/// spool is full), queues the record and completes once it is fsynced. One task writes whatever is queued with one
/// write and one fsync (group commit), starts a new segment past <see cref="SpoolOptions.SegmentBytes"/>, commits the
/// group in the ledger and wakes the readers.
/// </summary>
internal sealed class SpoolAppender(
    SpoolOptions options,
    SpoolLedger ledger,
    SpoolSegments segments,
    AsyncSignal committed,
    TelemetryMetrics metrics,
    WritePathHealth health,
    ILogger logger,
    TimeProvider time) : IDisposable
{
    readonly Channel<AppendRequest> appends = Channel.CreateUnbounded<AppendRequest>(new UnboundedChannelOptions { SingleReader = true });
    readonly AsyncSignal spaceFreed = new();
    int full;

    // Owned by the appender task once started.
    FileStream? active;
    long activeIndex;
    long activeLength;
    Task? running;

    public bool IsFull => Volatile.Read(ref full) == 1;

    /// <summary>Starts appending to a new segment <paramref name="firstSegment"/>.</summary>
    public void Start(long firstSegment)
    {
        activeIndex = firstSegment;
        activeLength = 0;
        active = segments.Create(activeIndex);
        ledger.SegmentStarted(activeIndex);
        running = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>Takes no more appends, writes those already taken and closes the segment.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        appends.Writer.TryComplete();
        if (running is not null)
        {
            await running.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Appends the lines of one message as one record; completes when they are on disk (fsync).</summary>
    /// <param name="headroom">Bytes this record may use above the capacity (the reserve for derived lines).</param>
    public async ValueTask AppendAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken, long headroom = 0)
    {
        var durable = await EnqueueAsync(lines, cancellationToken, headroom);
        await durable.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Takes the lines of one message as one record, in call order: completes once the record is queued (waiting while
    /// the spool is full), with a task that completes when it is on disk (fsync) or fails when it could not be written.
    /// </summary>
    public async ValueTask<Task> EnqueueAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken, long headroom = 0)
    {
        var payload = SpoolRecord.EncodePayload(lines);
        var size = SpoolRecord.HeaderSize + payload.Length;
        await ReserveSpaceAsync(size, headroom, cancellationToken);
        var request = new AppendRequest(payload, lines.Count);
        if (!appends.Writer.TryWrite(request))
        {
            ledger.CancelReservation(size);
            throw new OperationCanceledException("the spool is closed: the service is stopping");
        }

        return request.Done.Task;
    }

    /// <summary>An acknowledgement freed room: wake the appends waiting for it, and end the full state below 90 %.</summary>
    public void NoteSpaceFreed(bool roomAgain)
    {
        spaceFreed.Set();
        if (roomAgain && Interlocked.Exchange(ref full, 0) == 1)
        {
            logger.LogInformation("The spool has room again; devices are acknowledged as usual");
        }
    }

    async Task ReserveSpaceAsync(int size, long headroom, CancellationToken cancellationToken)
    {
        if (ledger.TryReserve(size, headroom))
        {
            return;
        }

        metrics.SpoolFullWaits.Add(1);
        if (Interlocked.Exchange(ref full, 1) == 0)
        {
            logger.LogWarning("The spool is full ({Bytes} of {Capacity} bytes waiting for InfluxDB or the grain feed): devices are not acknowledged until there is room",
                ledger.UsedBytes, options.MaxBytes);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.FullWaitTimeout);
        while (true)
        {
            var freed = spaceFreed.Next;
            if (ledger.TryReserve(size, headroom))
            {
                return;
            }

            try
            {
                await freed.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"the spool stayed full for {options.FullWaitTimeout}");
            }
        }
    }

    /// <summary>
    /// The group-commit loop. It never ends by an exception: a group that cannot be written (EMFILE on a new segment,
    /// ENOSPC, out of memory for its buffer…) fails its appends — the broker then closes those connections without an
    /// acknowledgement, so the devices send again — is counted and logged by <see cref="WritePathHealth"/>
    /// (stage <c>spool_append</c>), and the next group tries again.
    /// </summary>
    async Task RunAsync()
    {
        var group = new List<AppendRequest>();
        var buffer = Array.Empty<byte>();
        var reader = appends.Reader;
        while (await reader.WaitToReadAsync())
        {
            group.Clear();
            var size = 0;
            while (size < options.MaxGroupBytes && reader.TryRead(out var request))
            {
                group.Add(request);
                size += SpoolRecord.HeaderSize + request.Payload.Length;
            }

            var started = Stopwatch.GetTimestamp();
            var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
            var lines = 0;
            try
            {
                if (buffer.Length < size)
                {
                    buffer = new byte[Math.Max(size, Math.Max(1 << 20, buffer.Length * 2))];
                }

                var at = 0;
                foreach (var request in group)
                {
                    at += SpoolRecord.Write(buffer.AsSpan(at), request.Payload, request.LineCount, nowMs);
                    lines += request.LineCount;
                }

                if (active is null || activeLength >= options.SegmentBytes)
                {
                    RollSegment();
                }

                active!.Write(buffer, 0, size);
                active.Flush(flushToDisk: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OutOfMemoryException or ObjectDisposedException)
            {
                health.Failed("spool_append", ex);
                logger.LogDebug(ex, "Could not write {Records} messages to the spool at {Directory}; they were not acknowledged", group.Count, segments.Directory);
                TryTruncateActive();
                ledger.CancelReservation(size);
                foreach (var request in group)
                {
                    request.Done.TrySetException(ex);
                }

                continue;
            }

            health.Succeeded("spool_append");
            activeLength += size;
            ledger.Commit(activeIndex, activeLength, size, lines, nowMs);
            metrics.SpoolAppends.Add(group.Count);
            metrics.SpoolFsyncDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            foreach (var request in group)
            {
                request.Done.TrySetResult();
            }

            committed.Set();
        }

        active?.Dispose();
        active = null;
    }

    /// <summary>After a failed write: cut the segment back to its last committed length, so the next group follows it.</summary>
    void TryTruncateActive()
    {
        try
        {
            active?.SetLength(activeLength);
            active?.Seek(activeLength, SeekOrigin.Begin);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // A segment that cannot be cut back is not appended to again: the next group starts a new one, and
            // recovery and the reader stop at the committed length of this one.
            logger.LogError(ex, "Could not cut the spool segment {Segment} back to {Length} bytes; continuing in a new segment", activeIndex, activeLength);
            active?.Dispose();
            active = null;
        }
    }

    /// <summary>
    /// Closes the active segment and starts the next one. If the new file cannot be made (EMFILE, ENOSPC…),
    /// <see cref="active"/> stays null and the next group tries again: nothing is written to a closed stream.
    /// </summary>
    void RollSegment()
    {
        active?.Dispose();
        active = null;
        var next = activeIndex + 1;
        active = segments.Create(next);
        activeIndex = next;
        activeLength = 0;
        ledger.SegmentStarted(activeIndex);
    }

    /// <summary>Closes the segment without waiting for the appender task (as a kill would leave the files).</summary>
    public void Dispose() => active?.Dispose();

    sealed class AppendRequest(byte[] payload, int lineCount)
    {
        public byte[] Payload { get; } = payload;

        public int LineCount { get; } = lineCount;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
