using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Domain.Observability;
using Telemetry.Storage;
using Telemetry.Storage.Spool;
using Telemetry.Tests.Polling;

namespace Telemetry.IntegrationTests.Spool;

/// <summary>
/// The spool's grain feed (<see cref="IGrainFeed"/>) on a real local disk, in a temp folder per test: a second cursor
/// next to InfluxDB's drainer, whose consumed position survives a restart and holds back deletion and capacity.
/// </summary>
public sealed class GrainFeedSpoolTests : IDisposable
{
    const long T0 = 1_795_860_000_000;

    readonly string directory = Directory.CreateTempSubdirectory("telemetry-spool-feed-test-").FullName;
    readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    readonly List<WriteAheadSpool> opened = [];
    readonly ManualClock clock = new(DateTimeOffset.FromUnixTimeMilliseconds(T0));

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    async Task<WriteAheadSpool> OpenAsync(Action<SpoolOptions>? configure = null, bool feed = true)
    {
        var options = new SpoolOptions { Path = directory };
        configure?.Invoke(options);
        var spool = new WriteAheadSpool(Options.Create(options), Options.Create(new SpoolFeedSwitch { Enabled = feed }),
            new TelemetryMetrics(services.GetRequiredService<IMeterFactory>()), NullLogger<WriteAheadSpool>.Instance, clock);
        await spool.StartAsync(Ct);
        opened.Add(spool);
        return spool;
    }

    /// <summary>A graceful stop: the checkpoint is saved with both positions.</summary>
    static async Task StopAsync(WriteAheadSpool spool)
    {
        await spool.StopAsync(Ct);
        spool.Dispose();
    }

    /// <summary>Like a SIGKILL as far as the spool's files are concerned: nothing is flushed or closed gracefully.</summary>
    static void Abandon(WriteAheadSpool spool) => spool.Dispose();

    static string Line(int i) => $"telemetry,building=b,room=r,sensor=s{i % 7} v={i} {1795860000000 + i}";

    /// <summary>Message <paramref name="i"/>: 1 to 3 lines.</summary>
    static string[] Message(int i) => [.. Enumerable.Range(0, 1 + (i % 3)).Select(k => Line((i * 10) + k))];

    static async Task WriteAsync(WriteAheadSpool spool, int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            await spool.WriteAsync(Message(i), Ct);
        }
    }

    /// <summary>Reads the feed until nothing more is committed; does not consume.</summary>
    static async Task<List<SpoolEntry>> ReadFeedAsync(WriteAheadSpool feed, int expected, int maxRecords = 7)
    {
        var entries = new List<SpoolEntry>();
        while (entries.Count < expected)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var read = await feed.ReadFeedAsync(maxRecords, timeout.Token);
            Assert.InRange(read.Count, 1, maxRecords);
            entries.AddRange(read);
        }

        Assert.Equal(expected, entries.Count);
        return entries;
    }

    /// <summary>An entry as a comparable value (its lines are a list).</summary>
    static (SpoolPosition End, long AppendedAtMs, string Lines) Show(SpoolEntry entry) => (entry.End, entry.AppendedAtMs, string.Join('\n', entry.Lines));

    static List<string> Drain(WriteAheadSpool spool, int maxLines = 1000)
    {
        var lines = new List<string>();
        while (spool.TryRead(maxLines) is { } batch)
        {
            lines.AddRange(batch.Lines);
            spool.Acknowledge(batch);
        }

        return lines;
    }

    string[] Segments() => [.. Directory.GetFiles(directory, "*.seg").Select(Path.GetFileName).Order().Cast<string>()];

    [Fact]
    public async Task The_feed_reads_every_record_in_order_with_where_it_ends_and_when_it_was_appended()
    {
        var spool = await OpenAsync(o => o.SegmentBytes = 4096);
        for (var i = 0; i < 200; i++)
        {
            clock.Now = DateTimeOffset.FromUnixTimeMilliseconds(T0 + i);
            await spool.WriteAsync(Message(i), Ct);
        }

        var entries = await ReadFeedAsync(spool, 200);

        Assert.Equal(Enumerable.Range(0, 200).Select(Message), entries.Select(e => e.Lines.ToArray()));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => T0 + i), entries.Select(e => e.AppendedAtMs));
        Assert.True(entries.Select(e => e.End.Segment).Distinct().Count() > 3, "the records span several segments");

        // Each End is where the record ends in its segment file: the record is the bytes between the previous End (or the
        // segment's start) and this one.
        var previous = new SpoolPosition(0, 0);
        foreach (var entry in entries)
        {
            var start = entry.End.Segment == previous.Segment ? previous.Offset : 0;
            var size = SpoolRecord.HeaderSize + SpoolRecord.EncodePayload(entry.Lines).Length;
            Assert.Equal(start + size, entry.End.Offset);
            var bytes = new byte[size];
            using (var file = File.OpenHandle(Path.Combine(directory, $"{entry.End.Segment:D12}.seg")))
            {
                Assert.Equal(size, RandomAccess.Read(file, bytes, start));
            }

            Assert.True(SpoolRecord.IsIntact(bytes));
            Assert.True(SpoolRecord.TryReadHeader(bytes, out _, out var lineCount, out var appendedAtMs));
            Assert.Equal((entry.Lines.Count, entry.AppendedAtMs), (lineCount, appendedAtMs));
            previous = entry.End;
        }
    }

    [Fact]
    public async Task The_feed_and_InfluxDB_read_independently_and_the_feed_waits_for_the_next_append()
    {
        var spool = await OpenAsync();
        await WriteAsync(spool, 0, 10);
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(Message), Drain(spool));

        var entries = await ReadFeedAsync(spool, 10);
        Assert.Equal(Enumerable.Range(0, 10).Select(Message), entries.Select(e => e.Lines.ToArray()));

        var next = spool.ReadFeedAsync(10, Ct).AsTask();
        Assert.False(next.IsCompleted);
        await spool.WriteAsync(Message(10), Ct);
        Assert.Equal([Message(10)], (await next.WaitAsync(TimeSpan.FromSeconds(30), Ct)).Select(e => e.Lines.ToArray()));
    }

    [Fact]
    public async Task A_restart_resumes_the_feed_at_its_consumed_position_and_the_drain_at_its_own()
    {
        var first = await OpenAsync();
        var id = first.SpoolId;
        await WriteAsync(first, 0, 50);

        // InfluxDB takes the first 30 messages, the grains consume the first 10 (and have read all 50).
        var drained = 0;
        while (drained < 30)
        {
            var batch = first.TryRead(Message(drained).Length)!;
            first.Acknowledge(batch);
            drained++;
        }

        var fed = await ReadFeedAsync(first, 50);
        first.ConsumeFeed(fed[9].End);
        Assert.Equal(fed[9].End, first.FeedConsumed);
        await StopAsync(first);

        var second = await OpenAsync();
        Assert.Equal(id, second.SpoolId);
        Assert.Equal(fed[9].End, second.FeedConsumed);
        Assert.Equal(Enumerable.Range(30, 20).SelectMany(Message), Drain(second));
        var again = await ReadFeedAsync(second, 40);
        Assert.Equal(fed.Skip(10).Select(Show), again.Select(Show));
        Assert.Equal(Enumerable.Range(10, 40).Sum(i => Message(i).Length), second.FeedLagLines);
    }

    [Fact]
    public async Task After_a_crash_the_feed_is_given_again_everything_it_had_not_consumed()
    {
        var first = await OpenAsync(o => o.SegmentBytes = 4096);
        await WriteAsync(first, 0, 120);
        _ = Drain(first);
        var fed = await ReadFeedAsync(first, 120);
        first.ConsumeFeed(fed[39].End);
        first.ConsumeFeed(fed[79].End); // the checkpoint may keep an earlier position: a crash loses at most 250 ms of it
        Abandon(first);

        var second = await OpenAsync(o => o.SegmentBytes = 4096);
        Assert.True(second.FeedConsumed <= fed[79].End, $"resumed at {second.FeedConsumed}, after the consumed {fed[79].End}");
        var resumedAt = fed.FindIndex(e => e.End > second.FeedConsumed);
        Assert.InRange(resumedAt, 0, 80);
        Assert.Equal(fed.Skip(resumedAt).Select(Show), (await ReadFeedAsync(second, 120 - resumedAt)).Select(Show));
    }

    [Fact]
    public async Task Segments_InfluxDB_has_taken_are_kept_until_the_feed_has_consumed_them()
    {
        var spool = await OpenAsync(o => o.SegmentBytes = 4096);
        await WriteAsync(spool, 0, 300);
        var written = Segments();
        Assert.True(written.Length > 3, string.Join(", ", written));

        _ = Drain(spool);
        Assert.Equal(0, spool.PendingBytes);
        Assert.Equal(written, Segments());

        var fed = await ReadFeedAsync(spool, 300, maxRecords: 50);
        spool.ConsumeFeed(fed[149].End);
        var half = Segments();
        Assert.True(half.Length < written.Length && half.Length > 1, string.Join(", ", half));
        Assert.All(half, s => Assert.True(string.CompareOrdinal(s, $"{fed[149].End.Segment:D12}.seg") >= 0, s));

        spool.ConsumeFeed(fed[^1].End);
        Assert.True(Segments().Length <= 2, string.Join(", ", Segments()));
        Assert.Equal((0L, 0L), (spool.FeedLagBytes, spool.FeedLagLines));
    }

    [Fact]
    public async Task A_rewind_reads_again_from_the_consumed_position_across_segments_without_moving_InfluxDBs_cursor_or_the_lag()
    {
        var spool = await OpenAsync(o => o.SegmentBytes = 4096);
        await WriteAsync(spool, 0, 300);
        var drained = Drain(spool, maxLines: 100);
        var fed = await ReadFeedAsync(spool, 300, maxRecords: 50);
        spool.ConsumeFeed(fed[99].End);
        var lag = (spool.FeedLagBytes, spool.FeedLagLines);

        // InfluxDB's cursor took everything (segments behind the feed's consumed position may go); the feed reads
        // records 100 to 299 again, the same records at the same positions, over several segments.
        Assert.Equal(fed[99].End, spool.RewindFeed());
        var again = await ReadFeedAsync(spool, 200, maxRecords: 50);
        Assert.Equal(fed[100..].Select(Show), again.Select(Show));
        Assert.True(again[^1].End.Segment > again[0].End.Segment, $"the rewound records lie in one segment: {again[0].End} to {again[^1].End}");
        Assert.Equal(lag, (spool.FeedLagBytes, spool.FeedLagLines));
        Assert.Null(spool.TryRead(100));
        Assert.Equal(fed.Sum(e => e.Lines.Count), drained.Count);

        // Consuming after the rewind counts each record once: the lag ends at zero.
        spool.ConsumeFeed(again[^1].End);
        Assert.Equal((0L, 0L), (spool.FeedLagBytes, spool.FeedLagLines));

        // A rewind with nothing read since the consumed position reads nothing; new records come as usual.
        Assert.Equal(spool.FeedConsumed, spool.RewindFeed());
        await WriteAsync(spool, 300, 1);
        Assert.Equal([Message(300)], (await ReadFeedAsync(spool, 1)).Select(e => e.Lines.ToArray()));

        // The consumed position after a rewind survives a restart like any other.
        await StopAsync(spool);
        var reopened = await OpenAsync(o => o.SegmentBytes = 4096);
        Assert.True(reopened.FeedConsumed >= again[^1].End, $"consumed {reopened.FeedConsumed}, last consumed record ends at {again[^1].End}");
        Assert.Equal([Message(300)], (await ReadFeedAsync(reopened, 1)).Select(e => e.Lines.ToArray()));
    }

    [Fact]
    public async Task A_lagging_feed_fills_the_spool_and_consuming_frees_it()
    {
        var spool = await OpenAsync(o => o.MaxBytes = 2048);
        var written = 0;
        while (spool.UsedBytes + 200 <= 2048)
        {
            await spool.WriteAsync(Message(written++), Ct);
        }

        _ = Drain(spool);
        Assert.Equal(0, spool.PendingBytes);
        Assert.True(spool.FeedLagBytes > 1800, $"{spool.FeedLagBytes} bytes not consumed");

        string[] big = [.. Enumerable.Range(0, 10).Select(Line)]; // does not fit into the room left
        var waiting = spool.WriteAsync(big, Ct).AsTask();
        await Poll.UntilAsync("the spool to be full while the grains lag", () => Task.FromResult(spool.IsFull), full => full, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        Assert.False(waiting.IsCompleted);

        var fed = await ReadFeedAsync(spool, written);
        spool.ConsumeFeed(fed[^1].End);
        await waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.False(spool.IsFull);
        Assert.Equal([big], (await ReadFeedAsync(spool, 1)).Select(e => e.Lines.ToArray()));
    }

    [Fact]
    public async Task The_lag_shows_in_bytes_lines_and_the_age_of_the_oldest_unconsumed_record_and_in_the_gauges()
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        var gauges = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name.StartsWith("telemetry.spool.feed.", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => gauges[instrument.Name] = value);
        listener.Start();

        var spool = await OpenAsync();
        await WriteAsync(spool, 0, 3); // 1 + 2 + 3 lines at T0
        clock.Now = DateTimeOffset.FromUnixTimeMilliseconds(T0 + 5000);
        await WriteAsync(spool, 3, 1); // 1 line at T0 + 5 s
        clock.Now = DateTimeOffset.FromUnixTimeMilliseconds(T0 + 12_000);
        var bytes = spool.FeedLagBytes;

        listener.RecordObservableInstruments();
        Assert.Equal(new Dictionary<string, long>
        {
            ["telemetry.spool.feed.bytes"] = bytes,
            ["telemetry.spool.feed.lines"] = 7,
            ["telemetry.spool.feed.oldest.age"] = 12,
        }, gauges);
        Assert.Equal(bytes, spool.PendingBytes);

        var fed = await ReadFeedAsync(spool, 4, maxRecords: 3);
        spool.ConsumeFeed(fed[2].End);
        Assert.Equal((1L, TimeSpan.FromSeconds(7)), (spool.FeedLagLines, spool.FeedOldestAge));
        Assert.Equal(bytes - fed[2].End.Offset, spool.FeedLagBytes);
        Assert.Equal(TimeSpan.FromSeconds(12), spool.OldestPendingAge);
    }

    [Fact]
    public async Task A_spool_without_a_feed_has_no_feed_and_keeps_the_one_line_checkpoint()
    {
        var spool = await OpenAsync(o => o.SegmentBytes = 4096, feed: false);
        await WriteAsync(spool, 0, 300);
        _ = Drain(spool);

        Assert.True(Segments().Length <= 2, string.Join(", ", Segments()));
        Assert.Equal(0, spool.UsedBytes);
        Assert.False(spool.FeedsGrains);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await spool.ReadFeedAsync(1, Ct));
        Assert.Throws<InvalidOperationException>(() => spool.ConsumeFeed(new SpoolPosition(1, 0)));
        await StopAsync(spool);
        Assert.Single((await File.ReadAllTextAsync(Path.Combine(directory, "checkpoint"), Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_spool_with_an_old_one_line_checkpoint_starts_the_feed_at_InfluxDBs_position()
    {
        var old = await OpenAsync(feed: false);
        await WriteAsync(old, 0, 20);
        for (var i = 0; i < 12; i++)
        {
            old.Acknowledge(old.TryRead(Message(i).Length)!);
        }

        var unacknowledged = old.TryRead(1000)!; // read, not acknowledged
        await StopAsync(old);
        Assert.Single((await File.ReadAllTextAsync(Path.Combine(directory, "checkpoint"), Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var fed = await OpenAsync();
        var entries = await ReadFeedAsync(fed, 8);
        Assert.Equal(Enumerable.Range(12, 8).Select(Message), entries.Select(e => e.Lines.ToArray()));
        Assert.Equal(unacknowledged.End, entries[^1].End);
        await StopAsync(fed);
        Assert.Equal(2, (await File.ReadAllTextAsync(Path.Combine(directory, "checkpoint"), Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task The_spool_id_is_made_with_the_directory_kept_and_given_to_a_directory_without_one()
    {
        var first = await OpenAsync();
        var id = first.SpoolId;
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(id + "\n", await File.ReadAllTextAsync(Path.Combine(directory, "spool-id"), Ct));
        await first.WriteAsync(Message(1), Ct);
        Abandon(first);

        var second = await OpenAsync();
        Assert.Equal(id, second.SpoolId);
        Abandon(second);

        File.Delete(Path.Combine(directory, "spool-id"));
        var renewed = await OpenAsync();
        Assert.Matches("^[0-9a-f]{32}$", renewed.SpoolId);
        Assert.NotEqual(id, renewed.SpoolId);
    }

    [Fact]
    public async Task A_damaged_spool_id_stops_the_start_instead_of_being_replaced()
    {
        await File.WriteAllTextAsync(Path.Combine(directory, "spool-id"), "not an id", Ct);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync());
        Assert.Contains("spool-id", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A wall clock that moves only when told to (monotonic timestamps stay real).</summary>
    sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    public void Dispose()
    {
        foreach (var spool in opened)
        {
            spool.Dispose();
        }

        services.Dispose();
        Directory.Delete(directory, recursive: true);
    }
}
