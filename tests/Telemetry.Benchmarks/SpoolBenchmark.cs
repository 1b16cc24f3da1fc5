using System.Diagnostics;
using System.Net.Http;
using Microsoft.Extensions.Options;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Storage;
using Telemetry.Storage.Drain;
using Telemetry.Storage.Influx;
using Telemetry.Storage.Spool;

namespace Telemetry.Benchmarks;

/// <summary>
/// <c>telemetry-bench spool</c>:
/// <list type="number">
/// <item>the machine;</item>
/// <item>appends with group commit: N writers each awaiting <see cref="WriteAheadSpool.WriteAsync"/> in a loop, so
///   up to N appends wait for the same fsync;</item>
/// <item>the baseline: one writer, every append waits for its own fsync;</item>
/// <item>the drain: a spool filled beforehand (not timed) drained by the service's <see cref="InfluxDrainer"/> and
///   <see cref="InfluxV1Target"/> into a real influxd, timed until the spool is empty, then verified by a count.</item>
/// </list>
/// Every spool lives in a fresh subfolder of the run's folder; the run's folder and influxd's are deleted at the end.
/// </summary>
sealed class SpoolBenchmark(SpoolBenchmarkSettings settings, TextWriter output, TextWriter error)
{
    /// <summary>The drain gives up when the spool has not shrunk for this long (InfluxDB refusing, retried forever).</summary>
    static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(60);
    static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    readonly Report report = new(output);
    readonly long baseMs = Workload.DefaultBaseMs();

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var parent = Path.GetFullPath(settings.Directory);
        var createdParent = !Directory.Exists(parent);
        var runDirectory = Path.Combine(parent, $"telemetry-bench-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(runDirectory);
        try
        {
            var machine = MachineInfo.Collect(runDirectory);
            report.Title($"telemetry-bench spool{(settings.Quick ? " --quick" : "")}, {machine.Date:yyyy-MM-dd HH:mm} UTC");
            WriteMachine(machine, runDirectory);
            if (machine.InMemoryFilesystem)
            {
                await error.WriteLineAsync($"telemetry-bench: warning: {runDirectory} is in memory ({machine.Filesystem}); fsync costs nothing there. Use --dir on a disk.");
            }

            var grouped = await AppendAsync("group-commit", settings.Messages, settings.Writers, runDirectory, cancellationToken);
            WriteAppend($"Append with group commit ({settings.Writers} writers)", grouped);

            var baseline = await AppendAsync("baseline", settings.BaselineMessages, 1, runDirectory, cancellationToken);
            WriteAppend("Append baseline (1 writer: one fsync per message)", baseline);
            report.Section("Group commit vs. baseline");
            report.Row("readings/s ratio", $"{Report.Number(grouped.ReadingsPerSecond / baseline.ReadingsPerSecond)} x");
            report.Flush();

            var verified = true;
            if (settings.DrainLines > 0)
            {
                var drain = await DrainAsync(runDirectory, cancellationToken);
                WriteDrain(drain);
                verified = drain.Verified;
            }

            report.Section("After the run");
            report.Row("load average 1/5/15 min", MachineInfo.LoadAverage());
            report.Flush();
            return verified ? ExitCodes.Success : ExitCodes.Mismatch;
        }
        finally
        {
            InfluxDbServer.DeleteDirectory(runDirectory);
            if (createdParent && !Directory.EnumerateFileSystemEntries(parent).Any())
            {
                Directory.Delete(parent);
            }
        }
    }

    async Task<AppendResult> AppendAsync(string name, int messageCount, int writers, string runDirectory, CancellationToken cancellationToken)
    {
        var messages = Workload.Messages(messageCount, settings.LinesPerMessage, baseMs);
        var warmup = Workload.Messages(Math.Min(messageCount, Math.Max(50, writers * 20)), settings.LinesPerMessage, baseMs);
        using var host = new SpoolHost(Path.Combine(runDirectory, name));
        await host.Spool.StartAsync(cancellationToken);
        try
        {
            // JIT, thread pool growth, the first blocks of the segment: not measured.
            await RunWritersAsync(host.Spool, warmup, writers, latencies: null, cancellationToken);
            host.Instruments.Reset();

            var latencies = new long[messages.Length];
            var cpu = CpuTime.OfThisProcess();
            var started = Stopwatch.GetTimestamp();
            await RunWritersAsync(host.Spool, messages, writers, latencies, cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started);
            cpu = CpuTime.OfThisProcess() - cpu;
            var instruments = host.Instruments.Snapshot();

            return new AppendResult(
                writers,
                messages.Length,
                messages.Sum(m => m.Length),
                messages.Sum(m => m.Sum(line => (long)line.Length)),
                elapsed,
                new Distribution(latencies.Select(ticks => (double)ticks / Stopwatch.Frequency)),
                instruments,
                instruments.FsyncSeconds.Count,
                instruments.Appends,
                cpu);
        }
        finally
        {
            await host.Spool.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// <paramref name="writers"/> tasks take the next message until none is left and await its append; the time of
    /// each append (until durable) goes to <paramref name="latencies"/> at the message's index.
    /// </summary>
    static async Task RunWritersAsync(WriteAheadSpool spool, string[][] messages, int writers, long[]? latencies, CancellationToken cancellationToken)
    {
        var next = -1;
        var tasks = new Task[writers];
        for (var w = 0; w < writers; w++)
        {
            tasks[w] = Task.Run(async () =>
            {
                while (true)
                {
                    var i = Interlocked.Increment(ref next);
                    if (i >= messages.Length)
                    {
                        return;
                    }

                    var started = Stopwatch.GetTimestamp();
                    await spool.WriteAsync(messages[i], cancellationToken);
                    if (latencies is not null)
                    {
                        latencies[i] = Stopwatch.GetTimestamp() - started;
                    }
                }
            }, cancellationToken);
        }

        await Task.WhenAll(tasks);
    }

    async Task<DrainResult> DrainAsync(string runDirectory, CancellationToken cancellationToken)
    {
        using var host = new SpoolHost(Path.Combine(runDirectory, "drain"));
        InfluxDbServer? influx = null;
        InfluxDrainer? drainer = null;
        var influxStarting = InfluxDbServer.StartAsync(cancellationToken);
        try
        {
            // 1. Fill (not timed), then stop the spool: what a spool holds after an outage of InfluxDB.
            await host.Spool.StartAsync(cancellationToken);
            var filling = Stopwatch.StartNew();
            await FillAsync(host.Spool, settings.DrainLines, cancellationToken);
            filling.Stop();
            await host.Spool.StopAsync(cancellationToken);

            // 2. Without InfluxDB: open it again (recovery scans the segments) and read it all in batches without
            //    acknowledging anything: what reading the spool alone costs.
            var reader = host.Reopen();
            var started = Stopwatch.GetTimestamp();
            await reader.StartAsync(cancellationToken);
            var recovery = Stopwatch.GetElapsedTime(started);
            var pending = reader.PendingLines;
            started = Stopwatch.GetTimestamp();
            long read = 0;
            while (reader.TryRead(SpoolBenchmarkSettings.MaxBatchLines) is { } batch)
            {
                read += batch.Lines.Count;
            }

            var readTime = Stopwatch.GetElapsedTime(started);
            await reader.StopAsync(cancellationToken);
            if (pending != settings.DrainLines || read != settings.DrainLines)
            {
                throw new InvalidOperationException($"the spool holds {pending} lines after the fill and {read} were read, not {settings.DrainLines}");
            }

            // 3. The drain: the service's drainer and v1 target into influxd, timed until the spool is empty.
            var spool = host.Reopen();
            await spool.StartAsync(cancellationToken);
            influx = await influxStarting;
            await influx.CreateDatabaseAsync(SpoolBenchmarkSettings.Database, cancellationToken);
            var version = await InfluxVersionAsync(influx, cancellationToken);
            var target = new InfluxV1Target(host.HttpClientFactory, Options.Create(new InfluxOptions
            {
                Api = InfluxApi.V1,
                Url = influx.Url,
                Database = SpoolBenchmarkSettings.Database,
                Gzip = true,
            }));
            drainer = new InfluxDrainer(
                spool,
                target,
                Options.Create(new WriterOptions { MaxBatchLines = SpoolBenchmarkSettings.MaxBatchLines }),
                Options.Create(host.SpoolOptions),
                host.Metrics,
                host.Logger<InfluxDrainer>(),
                TimeProvider.System,
                Telemetry.Storage.Reports.NoReportMarks.Instance);
            host.Instruments.Reset();
            host.HttpTimings.Reset();

            var ownCpu = CpuTime.OfThisProcess();
            var influxCpu = CpuTime.OfProcess(influx.Pid);
            started = Stopwatch.GetTimestamp();
            await drainer.StartAsync(cancellationToken);
            await WaitUntilDrainedAsync(spool, drainer, cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started);
            ownCpu = CpuTime.OfThisProcess() - ownCpu;
            influxCpu = CpuTime.OfProcess(influx.Pid) - influxCpu;

            await drainer.StopAsync(CancellationToken.None);
            var stored = await influx.CountAsync(SpoolBenchmarkSettings.Database, LineProtocol.Measurement, Workload.CountedField, cancellationToken: cancellationToken);
            return new DrainResult(settings.DrainLines, pending, filling.Elapsed, recovery, readTime, elapsed, stored, host.Instruments.Snapshot(),
                host.HttpTimings.Snapshot(), ownCpu, influxCpu, version, influx.Url);
        }
        finally
        {
            if (drainer is not null)
            {
                await drainer.StopAsync(CancellationToken.None);
                drainer.Dispose();
            }

            await host.Spool.StopAsync(CancellationToken.None);
            influx ??= await StartedOrNullAsync(influxStarting);
            if (influx is not null)
            {
                await influx.DisposeAsync(); // kills influxd (its data is thrown away) and deletes its folder
            }
        }
    }

    /// <summary>The fill: as many appends in flight as writers, each message built just before its append. Not timed.</summary>
    async Task FillAsync(WriteAheadSpool spool, int lines, CancellationToken cancellationToken)
    {
        var perMessage = settings.LinesPerMessage;
        var messageCount = (lines + perMessage - 1) / perMessage;
        var writers = Math.Max(settings.Writers, 256); // more appends in flight, bigger groups, a quicker fill
        var next = -1;
        var tasks = new Task[writers];
        for (var w = 0; w < writers; w++)
        {
            tasks[w] = Task.Run(async () =>
            {
                while (true)
                {
                    var m = Interlocked.Increment(ref next);
                    if (m >= messageCount)
                    {
                        return;
                    }

                    var count = Math.Min(perMessage, lines - m * perMessage);
                    await spool.WriteAsync(Workload.Message(m, count, perMessage, baseMs), cancellationToken);
                }
            }, cancellationToken);
        }

        await Task.WhenAll(tasks);
    }

    static async Task WaitUntilDrainedAsync(WriteAheadSpool spool, InfluxDrainer drainer, CancellationToken cancellationToken)
    {
        var last = spool.PendingLines;
        var lastProgress = Stopwatch.GetTimestamp();
        while (true)
        {
            var pending = spool.PendingLines;
            if (pending == 0)
            {
                return;
            }

            if (drainer.ExecuteTask is { IsCompleted: true } stopped)
            {
                await stopped; // rethrows what stopped it
                throw new InvalidOperationException($"the drainer stopped with {pending} lines left in the spool");
            }

            if (pending != last)
            {
                (last, lastProgress) = (pending, Stopwatch.GetTimestamp());
            }
            else if (Stopwatch.GetElapsedTime(lastProgress) > StallTimeout)
            {
                throw new TimeoutException($"the drain made no progress for {StallTimeout.TotalSeconds:0} s with {pending} lines left " +
                                           $"(in an outage: {drainer.InOutage}); see the warnings above");
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    static async Task<string> InfluxVersionAsync(InfluxDbServer influx, CancellationToken cancellationToken)
    {
        using var response = await influx.Http.GetAsync(new Uri("ping", UriKind.Relative), cancellationToken);
        return response.Headers.TryGetValues("X-Influxdb-Version", out var values) ? string.Join(' ', values) : "unknown";
    }

    static async Task<InfluxDbServer?> StartedOrNullAsync(Task<InfluxDbServer> starting)
    {
        try
        {
            return await starting;
        }
        catch (Exception ex) when (ex is ServerStartException or OperationCanceledException or InvalidOperationException or HttpRequestException)
        {
            return null; // it cleaned up after itself
        }
    }

    void WriteMachine(MachineInfo machine, string runDirectory)
    {
        report.Section("Machine");
        report.Row("cores", machine.Cores.ToString(System.Globalization.CultureInfo.InvariantCulture));
        report.Row("memory", machine.Memory);
        report.Row("cpu", machine.Cpu);
        report.Row("virtualization", machine.Virtualization);
        report.Row("os", machine.Os);
        report.Row(".NET", machine.Dotnet);
        report.Row("spool folder", runDirectory);
        report.Row("file system", machine.Filesystem);
        report.Row("disk", machine.Disk);
        report.Row("date", machine.Date.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture));
        report.Row("load average 1/5/15 min", MachineInfo.LoadAverage());
        report.Flush();
    }

    void WriteAppend(string title, AppendResult result)
    {
        var fsync = new Distribution(result.Instruments.FsyncSeconds);
        report.Section(title);
        report.Row("messages x lines", $"{Report.Count(result.Messages)} x {settings.LinesPerMessage} = {Report.Count(result.Lines)} readings, {Report.Number((double)result.Bytes / result.Lines, 0)} B/line");
        report.Row("elapsed", Report.Seconds(result.Elapsed));
        report.Row("readings/s", Report.Count(result.ReadingsPerSecond));
        if (settings.LinesPerMessage > 1)
        {
            report.Row("messages/s", Report.Count(result.Messages / result.Elapsed.TotalSeconds));
        }

        report.Row("fsyncs (groups)", $"{Report.Count(result.Fsyncs)} ({Report.Count(result.Fsyncs / result.Elapsed.TotalSeconds)}/s)");
        report.Row("readings per fsync", result.Fsyncs == 0 ? "n/a" : Report.Number((double)result.Lines / result.Fsyncs));
        report.Row("write+fsync mean", fsync.Count == 0 ? "n/a" : Report.Milliseconds(fsync.Mean));
        report.Row("write+fsync p50/p95/p99/max", fsync.Summary());
        report.Row("appender busy in write+fsync", Report.Percent(fsync.Sum / result.Elapsed.TotalSeconds));
        report.Row("append latency p50/p95/p99/max", result.Latency.Summary());
        report.Row("CPU (this process)", $"{Report.Seconds(result.Cpu)} = {Report.Percent(result.Cpu / result.Elapsed)} of one core");
        // Two independent counts of the same thing: the spool's counters and the metrics it records.
        if (result.Appended != result.Messages || result.Instruments.Appends != result.Messages || fsync.Count != result.Fsyncs)
        {
            report.Note($"note: counts disagree: {Report.Count(result.Messages)} messages; the spool counted {Report.Count(result.Appended)} appends " +
                        $"in {Report.Count(result.Fsyncs)} fsyncs, its metrics {Report.Count(result.Instruments.Appends)} appends in {Report.Count(fsync.Count)} fsyncs");
        }

        report.Flush();
    }

    void WriteDrain(DrainResult drain)
    {
        var writes = new Distribution(drain.Instruments.WriteSeconds);
        report.Section($"Drain into InfluxDB {drain.InfluxVersion} (v1 /write, gzip, batches of {Report.Count(SpoolBenchmarkSettings.MaxBatchLines)} lines)");
        report.Row("influxd", $"{drain.InfluxUrl} (its WAL is fsynced on every write: wal-fsync-delay 0s)");
        report.Row("spool filled with", $"{Report.Count(drain.PendingLines)} lines in {Report.Seconds(drain.FillTime)} (not timed)");
        report.Row("spool alone: recovery scan", $"{Report.Seconds(drain.RecoveryTime)} ({Report.Count(drain.Expected / drain.RecoveryTime.TotalSeconds)} lines/s; reopening the filled spool)");
        report.Row("spool alone: read all", $"{Report.Seconds(drain.ReadTime)} ({Report.Count(drain.Expected / drain.ReadTime.TotalSeconds)} lines/s; TryRead({Report.Count(SpoolBenchmarkSettings.MaxBatchLines)}), no InfluxDB)");
        report.Row("drain: elapsed until empty", Report.Seconds(drain.Elapsed));
        report.Row("drain: lines/s", Report.Count(drain.LinesPerSecond));
        report.Row("batches written", $"{Report.Count(drain.Instruments.BatchesWritten)} ({Report.Count(drain.Instruments.LinesWritten)} lines, {Report.Count(drain.Instruments.Retries)} retries, {Report.Count(drain.Instruments.DeadLettered)} dead-lettered)");
        report.Row("batch write p50/p95/p99/max", $"{writes.Summary()} (gzip + HTTP, as the drainer times it)");
        report.Row("  of it HTTP p50/p95/p99/max", $"{drain.Http.Summary()} (request sent until response: loopback + influxd)");
        report.Row("share of the drain", $"{Report.Percent(drain.Http.Sum / drain.Elapsed.TotalSeconds)} waiting for influxd, {Report.Percent((writes.Sum - drain.Http.Sum) / drain.Elapsed.TotalSeconds)} building the gzip body, {Report.Percent(1 - writes.Sum / drain.Elapsed.TotalSeconds)} reading the spool and acknowledging");
        report.Row("CPU this process / influxd", $"{Report.Seconds(drain.OwnCpu)} / {Report.Seconds(drain.InfluxCpu)} = {Report.Percent(drain.OwnCpu / drain.Elapsed)} / {Report.Percent(drain.InfluxCpu / drain.Elapsed)} of one core ({Environment.ProcessorCount} cores)");
        report.Row($"SELECT count({Workload.CountedField})", $"{Report.Count(drain.Stored)} of {Report.Count(drain.Expected)} written: {(drain.Verified ? "OK" : "MISMATCH")}");
    }
}

sealed record AppendResult(
    int Writers,
    int Messages,
    int Lines,
    long Bytes,
    TimeSpan Elapsed,
    Distribution Latency,
    InstrumentSnapshot Instruments,
    long Fsyncs,
    long Appended,
    TimeSpan Cpu)
{
    public double ReadingsPerSecond => Lines / Elapsed.TotalSeconds;
}

sealed record DrainResult(
    long Expected,
    long PendingLines,
    TimeSpan FillTime,
    TimeSpan RecoveryTime,
    TimeSpan ReadTime,
    TimeSpan Elapsed,
    long Stored,
    InstrumentSnapshot Instruments,
    Distribution Http,
    TimeSpan OwnCpu,
    TimeSpan InfluxCpu,
    string InfluxVersion,
    Uri InfluxUrl)
{
    public double LinesPerSecond => Expected / Elapsed.TotalSeconds;

    public bool Verified => Stored == Expected;
}
