using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;
using Telemetry.Domain.Observability;

namespace Telemetry.Storage.Spool;

/// <summary>
/// The write-ahead spool between the grains and InfluxDB. <see cref="WriteAsync"/> appends a message's lines as one
/// record and completes only after an fsync made it durable; appends that arrive together share one write and one
/// fsync (group commit). The <see cref="InfluxDrainer"/> reads records in order and <see cref="Acknowledge"/>s them
/// once InfluxDB took them; fully acknowledged segments are deleted.
/// <para>
/// On disk: <c>{Path}/{index:D12}.seg</c> files of <see cref="SpoolRecord"/>s, and <c>{Path}/checkpoint</c> with the
/// position up to which InfluxDB has acknowledged. A lost checkpoint update only means some lines are written again,
/// which overwrites the same points. On start, records after the checkpoint are drained first; a torn record at
/// the end of a segment (a crash in the middle of a write, never acknowledged) is cut off.
/// </para>
/// <para>Bounded: past <see cref="SpoolOptions.MaxBytes"/> appends wait (and the broker withholds PUBACKs).</para>
/// </summary>
public sealed class WriteAheadSpool : ITelemetryWriter, IHostedService, IDisposable
{
    const string SegmentSuffix = ".seg";
    const string CheckpointName = "checkpoint";
    const int ReadChunkBytes = 4 << 20;
    const long MarkEveryBytes = 1 << 20;
    static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(250);

    readonly SpoolOptions options;
    readonly TelemetryMetrics metrics;
    readonly ILogger<WriteAheadSpool> logger;
    readonly TimeProvider time;
    readonly string directory;
    readonly Channel<AppendRequest> appends = Channel.CreateUnbounded<AppendRequest>(new UnboundedChannelOptions { SingleReader = true });
    readonly AsyncSignal dataAppended = new();
    readonly AsyncSignal spaceFreed = new();

    // Guarded by gate: committed length per segment, the checkpoint, pending counters, age marks.
    readonly Lock gate = new();
    readonly SortedDictionary<long, long> segments = [];
    readonly Queue<(SpoolPosition End, long AppendedAtMs)> ageMarks = new();
    SpoolPosition checkpoint;
    long pendingBytes;
    long pendingLines;

    long queuedBytes;
    int full;
    long fsyncs;
    long appended;
    long lastMarkMs;

    // Appender state (appender task only).
    FileStream? active;
    long activeIndex;
    long activeLength;
    Task? appender;

    // Reader state (drainer only).
    SpoolPosition readPosition;
    long readHandleSegment = -1;
    SafeFileHandle? readHandle;
    byte[] readBuffer = new byte[ReadChunkBytes];
    long lastCheckpointWrite;

    public WriteAheadSpool(IOptions<SpoolOptions> options, TelemetryMetrics metrics, ILogger<WriteAheadSpool> logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        this.options = options.Value;
        this.metrics = metrics;
        this.logger = logger;
        this.time = time;
        directory = System.IO.Path.GetFullPath(this.options.Path);
        metrics.ObserveGauge("telemetry.spool.bytes", "By", "Bytes in the spool not yet acknowledged by InfluxDB", () => PendingBytes);
        metrics.ObserveGauge("telemetry.spool.pending.lines", "{line}", "Lines in the spool not yet acknowledged by InfluxDB", () => PendingLines);
        metrics.ObserveGauge("telemetry.spool.oldest.age", "s", "Age of the oldest reading not yet acknowledged by InfluxDB", () => (long)OldestPendingAge.TotalSeconds);
        metrics.ObserveGauge("telemetry.spool.full", "{state}", "1 while the spool is full and devices are not acknowledged", () => IsFull ? 1 : 0);
    }

    public string Directory => directory;

    public long Capacity => options.MaxBytes;

    public long PendingLines
    {
        get { lock (gate) { return pendingLines; } }
    }

    public long PendingBytes
    {
        get { lock (gate) { return pendingBytes; } }
    }

    public bool IsFull => Volatile.Read(ref full) == 1;

    /// <summary>Group commits so far: each wrote one or more messages with one fsync.</summary>
    public long Fsyncs => Interlocked.Read(ref fsyncs);

    /// <summary>Messages made durable so far.</summary>
    public long Appended => Interlocked.Read(ref appended);

    /// <summary>How long the oldest reading not yet in InfluxDB has been waiting (zero when none).</summary>
    public TimeSpan OldestPendingAge
    {
        get
        {
            lock (gate)
            {
                while (ageMarks.Count > 0 && ageMarks.Peek().End <= checkpoint)
                {
                    ageMarks.Dequeue();
                }

                if (ageMarks.Count == 0 || pendingLines == 0)
                {
                    return TimeSpan.Zero;
                }

                var age = time.GetUtcNow().ToUnixTimeMilliseconds() - ageMarks.Peek().AppendedAtMs;
                return TimeSpan.FromMilliseconds(Math.Max(0, age));
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Recover();
        appender = Task.Run(RunAppenderAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Finishes the appends already taken (the broker has stopped by now) and closes the files.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        appends.Writer.TryComplete();
        if (appender is not null)
        {
            await appender.WaitAsync(cancellationToken);
        }

        SpoolPosition acknowledged;
        lock (gate)
        {
            acknowledged = checkpoint;
        }

        WriteCheckpoint(acknowledged);

        lock (gate)
        {
            logger.LogInformation("Spool closed with {Lines} lines ({Bytes} bytes) not yet in InfluxDB; they are sent first on the next start",
                pendingLines, pendingBytes);
        }
    }

    /// <summary>Appends the lines of one message; completes when they are on disk (fsync).</summary>
    public async ValueTask WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
        {
            return;
        }

        var payload = SpoolRecord.EncodePayload(lines);
        var size = SpoolRecord.HeaderSize + payload.Length;
        await ReserveSpaceAsync(size, cancellationToken);
        var request = new AppendRequest(payload, lines.Count);
        if (!appends.Writer.TryWrite(request))
        {
            Interlocked.Add(ref queuedBytes, -size);
            throw new OperationCanceledException("the spool is closed: the service is stopping");
        }

        await request.Done.Task.WaitAsync(cancellationToken);
    }

    async Task ReserveSpaceAsync(int size, CancellationToken cancellationToken)
    {
        if (TryReserve(size))
        {
            return;
        }

        metrics.SpoolFullWaits.Add(1);
        if (Interlocked.Exchange(ref full, 1) == 0)
        {
            logger.LogWarning("The spool is full ({Bytes} of {Capacity} bytes waiting for InfluxDB): devices are not acknowledged until there is room",
                PendingBytes + Interlocked.Read(ref queuedBytes), options.MaxBytes);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.FullWaitTimeout);
        while (true)
        {
            var freed = spaceFreed.Next;
            if (TryReserve(size))
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

    bool TryReserve(int size)
    {
        lock (gate)
        {
            var used = pendingBytes + Interlocked.Read(ref queuedBytes);
            if (used + size > options.MaxBytes && used > 0)
            {
                return false;
            }

            Interlocked.Add(ref queuedBytes, size);
            return true;
        }
    }

    async Task RunAppenderAsync()
    {
        var group = new List<AppendRequest>();
        var buffer = new byte[1 << 20];
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

            if (buffer.Length < size)
            {
                buffer = new byte[Math.Max(size, buffer.Length * 2)];
            }

            var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
            var at = 0;
            var lines = 0;
            foreach (var request in group)
            {
                at += SpoolRecord.Write(buffer.AsSpan(at), request.Payload, request.LineCount, nowMs);
                lines += request.LineCount;
            }

            var started = Stopwatch.GetTimestamp();
            try
            {
                if (activeLength >= options.SegmentBytes)
                {
                    RollSegment();
                }

                active!.Write(buffer, 0, size);
                active.Flush(flushToDisk: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                logger.LogError(ex, "Could not write {Records} messages to the spool at {Directory}; they were not acknowledged", group.Count, directory);
                TryTruncateActive();
                Interlocked.Add(ref queuedBytes, -size);
                foreach (var request in group)
                {
                    request.Done.TrySetException(ex);
                }

                continue;
            }

            activeLength += size;
            lock (gate)
            {
                segments[activeIndex] = activeLength;
                pendingBytes += size;
                pendingLines += lines;
                // One age mark per 100 ms at most: enough for the oldest-age gauge, bounded during a long outage.
                if (ageMarks.Count == 0 || nowMs - lastMarkMs >= 100)
                {
                    ageMarks.Enqueue((new SpoolPosition(activeIndex, activeLength), nowMs));
                    lastMarkMs = nowMs;
                }
                Interlocked.Add(ref queuedBytes, -size);
            }

            Interlocked.Increment(ref fsyncs);
            Interlocked.Add(ref appended, group.Count);
            metrics.SpoolAppends.Add(group.Count);
            metrics.SpoolFsyncDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            foreach (var request in group)
            {
                request.Done.TrySetResult();
            }

            dataAppended.Set();
        }

        active?.Dispose();
        active = null;
    }

    void TryTruncateActive()
    {
        try
        {
            active?.SetLength(activeLength);
            active?.Seek(activeLength, SeekOrigin.Begin);
        }
        catch (IOException ex)
        {
            logger.LogError(ex, "Could not cut the spool segment {Segment} back to {Length} bytes", activeIndex, activeLength);
        }
    }

    void RollSegment()
    {
        active?.Dispose();
        activeIndex++;
        activeLength = 0;
        active = OpenForAppend(activeIndex);
        lock (gate)
        {
            segments[activeIndex] = 0;
        }
    }

    FileStream OpenForAppend(long index)
    {
        var stream = new FileStream(SegmentPath(index), new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.Read | FileShare.Delete,
            BufferSize = 0,
        });
        SyncDirectory();
        return stream;
    }

    /// <summary>Waits for records after the read position and returns up to <paramref name="maxLines"/> lines of them.</summary>
    public async ValueTask<SpoolBatch> ReadAsync(int maxLines, CancellationToken cancellationToken)
    {
        while (true)
        {
            var appended = dataAppended.Next;
            if (TryRead(maxLines) is { } batch)
            {
                return batch;
            }

            await appended.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The next records after the read position, or null when there are none (yet).</summary>
    public SpoolBatch? TryRead(int maxLines)
    {
        var lines = new List<string>();
        var position = readPosition;
        long bytes = 0;
        var records = 0;
        while (lines.Count < maxLines)
        {
            long committed;
            long? next;
            bool known;
            lock (gate)
            {
                known = segments.TryGetValue(position.Segment, out committed);
                next = segments.Keys.Where(k => k > position.Segment).Cast<long?>().FirstOrDefault();
            }

            if (!known)
            {
                if (next is null)
                {
                    break;
                }

                position = new SpoolPosition(next.Value, 0);
                continue;
            }

            if (position.Offset >= committed)
            {
                if (next is null)
                {
                    break;
                }

                position = new SpoolPosition(next.Value, 0);
                continue;
            }

            var handle = ReadHandle(position.Segment);
            var toRead = (int)Math.Min(committed - position.Offset, readBuffer.Length);
            var read = RandomAccess.Read(handle, readBuffer.AsSpan(0, toRead), position.Offset);
            var offset = 0;
            while (lines.Count < maxLines && offset + SpoolRecord.HeaderSize <= read)
            {
                var span = readBuffer.AsSpan(offset, read - offset);
                if (!SpoolRecord.TryReadHeader(span, out var payloadLength, out var lineCount, out _))
                {
                    throw new InvalidDataException($"spool segment {position.Segment} is damaged at offset {position.Offset + offset}");
                }

                var recordLength = SpoolRecord.HeaderSize + payloadLength;
                if (recordLength > span.Length)
                {
                    break;
                }

                var record = span[..recordLength];
                if (!SpoolRecord.IsIntact(record))
                {
                    throw new InvalidDataException($"spool segment {position.Segment} fails its checksum at offset {position.Offset + offset}");
                }

                lines.AddRange(SpoolRecord.DecodeLines(record[SpoolRecord.HeaderSize..], lineCount));
                offset += recordLength;
                bytes += recordLength;
                records++;
            }

            if (offset == 0)
            {
                // The next record is larger than the read buffer: grow it and read again.
                var needed = SpoolRecord.TryReadHeader(readBuffer, out var length, out _, out _) ? SpoolRecord.HeaderSize + length : 0;
                if (needed <= readBuffer.Length || position.Offset + needed > committed)
                {
                    throw new InvalidDataException($"spool segment {position.Segment} is damaged at offset {position.Offset}");
                }

                readBuffer = new byte[needed];
                continue;
            }

            position = position with { Offset = position.Offset + offset };
        }

        if (records == 0)
        {
            return null;
        }

        readPosition = position;
        return new SpoolBatch(lines, position, bytes, records);
    }

    /// <summary>
    /// InfluxDB took <paramref name="batch"/> (or it was dead-lettered): move the checkpoint past it and free space.
    /// The checkpoint file is rewritten at most every <see cref="CheckpointInterval"/>, and always before a segment is
    /// deleted: a checkpoint that lags only means some lines are written again after a crash, which overwrites the
    /// same points, while every rewrite costs a rename that the next fsync has to wait for.
    /// </summary>
    public void Acknowledge(SpoolBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        List<long> released;
        bool roomAgain;
        lock (gate)
        {
            checkpoint = batch.End;
            pendingBytes -= batch.Bytes;
            pendingLines -= batch.Lines.Count;
            released = [.. segments.Keys.Where(k => k < checkpoint.Segment)];
            foreach (var index in released)
            {
                segments.Remove(index);
            }

            while (ageMarks.Count > 0 && ageMarks.Peek().End <= checkpoint)
            {
                ageMarks.Dequeue();
            }

            roomAgain = pendingBytes + Interlocked.Read(ref queuedBytes) < options.MaxBytes * 9 / 10;
        }

        var now = Stopwatch.GetTimestamp();
        if (released.Count > 0 || Stopwatch.GetElapsedTime(lastCheckpointWrite, now) >= CheckpointInterval)
        {
            WriteCheckpoint(batch.End);
            lastCheckpointWrite = now;
        }

        foreach (var index in released)
        {
            if (index == readHandleSegment)
            {
                readHandle?.Dispose();
                readHandle = null;
                readHandleSegment = -1;
            }

            File.Delete(SegmentPath(index));
        }

        spaceFreed.Set();
        if (roomAgain && Interlocked.Exchange(ref full, 0) == 1)
        {
            logger.LogInformation("The spool has room again; devices are acknowledged as usual");
        }
    }

    SafeFileHandle ReadHandle(long segment)
    {
        if (readHandleSegment != segment || readHandle is null)
        {
            readHandle?.Dispose();
            readHandle = File.OpenHandle(SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            readHandleSegment = segment;
        }

        return readHandle;
    }

    void Recover()
    {
        System.IO.Directory.CreateDirectory(directory);
        var saved = ReadCheckpoint();
        var found = System.IO.Directory.EnumerateFiles(directory, "*" + SegmentSuffix)
            .Select(path => long.TryParse(System.IO.Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : -1)
            .Where(index => index >= 0)
            .Order()
            .ToList();

        foreach (var index in found.Where(i => i < saved.Segment))
        {
            File.Delete(SegmentPath(index));
        }

        found.RemoveAll(i => i < saved.Segment);
        checkpoint = found.Count > 0 && found[0] == saved.Segment ? saved : new SpoolPosition(found.FirstOrDefault(), 0);

        long lines = 0, bytes = 0;
        foreach (var index in found)
        {
            var from = index == checkpoint.Segment ? checkpoint.Offset : 0;
            var (validEnd, segmentLines, segmentBytes) = ScanSegment(index, from);
            segments[index] = validEnd;
            lines += segmentLines;
            bytes += segmentBytes;
        }

        pendingLines = lines;
        pendingBytes = bytes;
        readPosition = checkpoint;
        activeIndex = found.Count > 0 ? found[^1] + 1 : Math.Max(1, saved.Segment);
        activeLength = 0;
        active = OpenForAppend(activeIndex);
        segments[activeIndex] = 0;

        if (lines > 0)
        {
            logger.LogInformation("Spool at {Directory}: {Lines} lines ({Bytes} bytes) from before the restart are sent to InfluxDB first",
                directory, lines, bytes);
        }
        else
        {
            logger.LogInformation("Spool at {Directory} is empty", directory);
        }
    }

    (long ValidEnd, long Lines, long Bytes) ScanSegment(long index, long countFrom)
    {
        var path = SegmentPath(index);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        var length = RandomAccess.GetLength(handle);
        var header = new byte[SpoolRecord.HeaderSize];
        var record = Array.Empty<byte>();
        long position = 0, lines = 0, bytes = 0, lastMark = long.MinValue;
        while (position + SpoolRecord.HeaderSize <= length)
        {
            RandomAccess.Read(handle, header, position);
            if (!SpoolRecord.TryReadHeader(header, out var payloadLength, out var lineCount, out var appendedAtMs)
                || position + SpoolRecord.HeaderSize + payloadLength > length)
            {
                break;
            }

            var recordLength = SpoolRecord.HeaderSize + payloadLength;
            if (record.Length < recordLength)
            {
                record = new byte[Math.Max(recordLength, 64 * 1024)];
            }

            RandomAccess.Read(handle, record.AsSpan(0, recordLength), position);
            if (!SpoolRecord.IsIntact(record.AsSpan(0, recordLength)))
            {
                break;
            }

            position += recordLength;
            if (position > countFrom)
            {
                lines += lineCount;
                bytes += recordLength;
                if (position - lastMark >= MarkEveryBytes || lastMark == long.MinValue)
                {
                    ageMarks.Enqueue((new SpoolPosition(index, position), appendedAtMs));
                    lastMark = position;
                }
            }
        }

        if (position < length)
        {
            logger.LogWarning("Spool segment {Segment} ends in {Bytes} bytes of an unfinished write (never acknowledged); cutting them off",
                index, length - position);
            RandomAccess.SetLength(handle, position);
        }

        return (position, lines, bytes);
    }

    SpoolPosition ReadCheckpoint()
    {
        var path = System.IO.Path.Combine(directory, CheckpointName);
        if (!File.Exists(path))
        {
            return new SpoolPosition(1, 0);
        }

        var parts = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var segment)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return new SpoolPosition(segment, offset);
        }

        logger.LogWarning("The spool checkpoint {Path} is unreadable; draining from the oldest segment (some lines may be written twice, which overwrites the same points)", path);
        return new SpoolPosition(0, 0);
    }

    void WriteCheckpoint(SpoolPosition position)
    {
        var path = System.IO.Path.Combine(directory, CheckpointName);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, string.Create(CultureInfo.InvariantCulture, $"{position.Segment} {position.Offset}\n"));
        File.Move(temporary, path, overwrite: true);
    }

    string SegmentPath(long index) => System.IO.Path.Combine(directory, index.ToString("D12", CultureInfo.InvariantCulture) + SegmentSuffix);

    /// <summary>Makes a new segment's directory entry durable (fsync of the directory), on Linux.</summary>
    void SyncDirectory() => DirectorySync.Flush(directory);

    public void Dispose()
    {
        active?.Dispose();
        readHandle?.Dispose();
    }

    sealed class AppendRequest(byte[] payload, int lineCount)
    {
        public byte[] Payload { get; } = payload;

        public int LineCount { get; } = lineCount;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
