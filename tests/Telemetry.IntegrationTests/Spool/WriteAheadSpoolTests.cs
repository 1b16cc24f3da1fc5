using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Domain.Observability;
using Telemetry.Storage.Spool;

namespace Telemetry.IntegrationTests.Spool;

/// <summary>The spool on a real local disk, in a temp folder per test.</summary>
public sealed class WriteAheadSpoolTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("telemetry-spool-test-").FullName;
    readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    readonly List<WriteAheadSpool> opened = [];

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    async Task<WriteAheadSpool> OpenAsync(Action<SpoolOptions>? configure = null)
    {
        var options = new SpoolOptions { Path = directory };
        configure?.Invoke(options);
        var spool = new WriteAheadSpool(Options.Create(options), new TelemetryMetrics(services.GetRequiredService<IMeterFactory>()),
            NullLogger<WriteAheadSpool>.Instance, TimeProvider.System);
        await spool.StartAsync(Ct);
        opened.Add(spool);
        return spool;
    }

    /// <summary>Like a SIGKILL as far as the spool's files are concerned: nothing is flushed or closed gracefully.</summary>
    static void Abandon(WriteAheadSpool spool) => spool.Dispose();

    static List<string> Drain(WriteAheadSpool spool, bool acknowledge = true)
    {
        var lines = new List<string>();
        while (spool.TryRead(1000) is { } batch)
        {
            lines.AddRange(batch.Lines);
            if (acknowledge)
            {
                spool.Acknowledge(batch);
            }
        }

        return lines;
    }

    static string Line(int i) => $"telemetry,building=b,room=r,sensor=s{i % 7} v={i} {1795860000000 + i}";

    [Fact]
    public async Task Appended_lines_are_read_back_in_order_and_acknowledging_them_empties_the_spool()
    {
        var spool = await OpenAsync();
        for (var i = 0; i < 100; i++)
        {
            await spool.WriteAsync([Line(2 * i), Line((2 * i) + 1)], Ct);
        }

        Assert.Equal(200, spool.PendingLines);
        Assert.Equal(Enumerable.Range(0, 200).Select(Line), Drain(spool));
        Assert.Equal(0, spool.PendingLines);
        Assert.Equal(0, spool.PendingBytes);
        Assert.Null(spool.TryRead(10));
    }

    [Fact]
    public async Task Concurrent_appends_share_fsyncs()
    {
        // Read from the spool's metrics (this test's own meter factory): appends counted, one fsync timed per group.
        long appended = 0, fsyncs = 0;
        var factory = services.GetRequiredService<IMeterFactory>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name is "telemetry.spool.appends" or "telemetry.spool.fsync.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref appended, value));
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref fsyncs));
        listener.Start();
        var spool = await OpenAsync();
        await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => spool.WriteAsync([Line(i)], Ct).AsTask()));

        Assert.Equal(2000, Interlocked.Read(ref appended));
        Assert.True(fsyncs > 0 && fsyncs < 2000 / 4, $"{fsyncs} fsyncs for 2000 appends");
        Assert.Equal(Enumerable.Range(0, 2000).Select(Line).Order(), Drain(spool).Order());
    }

    [Fact]
    public async Task What_was_not_acknowledged_is_read_again_after_a_crash_and_nothing_more()
    {
        var first = await OpenAsync();
        for (var i = 0; i < 50; i++)
        {
            await first.WriteAsync([Line(i)], Ct);
        }

        var batch = first.TryRead(20)!;
        Assert.Equal(20, batch.Lines.Count);
        first.Acknowledge(batch);
        _ = first.TryRead(10); // read but never acknowledged: must come back
        Abandon(first);

        var second = await OpenAsync();
        Assert.Equal(30, second.PendingLines);
        Assert.Equal(Enumerable.Range(20, 30).Select(Line), Drain(second));
        await second.WriteAsync([Line(99)], Ct);
        Abandon(second);

        var third = await OpenAsync();
        Assert.Equal([Line(99)], Drain(third));
    }

    [Fact]
    public async Task A_torn_write_at_the_end_of_a_segment_is_cut_off_and_the_records_before_it_survive()
    {
        var first = await OpenAsync();
        for (var i = 0; i < 10; i++)
        {
            await first.WriteAsync([Line(i)], Ct);
        }

        Abandon(first);
        var segment = Directory.GetFiles(directory, "*.seg").Order().Last(f => new FileInfo(f).Length > 0);
        var intact = new FileInfo(segment).Length;
        await using (var stream = new FileStream(segment, FileMode.Append))
        {
            // A header that promises more than was written, as after a crash in the middle of a write.
            await stream.WriteAsync(new byte[] { 200, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 65, 66 }, Ct);
        }

        var second = await OpenAsync();
        Assert.Equal(intact, new FileInfo(segment).Length);
        Assert.Equal(Enumerable.Range(0, 10).Select(Line), Drain(second));
    }

    [Fact]
    public async Task A_record_with_a_bad_checksum_ends_the_readable_part_on_recovery()
    {
        var first = await OpenAsync();
        await first.WriteAsync([Line(1)], Ct);
        await first.WriteAsync([Line(2)], Ct);
        Abandon(first);
        var segment = Directory.GetFiles(directory, "*.seg").Order().Last(f => new FileInfo(f).Length > 0);
        var bytes = await File.ReadAllBytesAsync(segment, Ct);
        bytes[^1] ^= 0xFF; // flip a bit in the last record's payload
        await File.WriteAllBytesAsync(segment, bytes, Ct);

        var second = await OpenAsync();
        Assert.Equal([Line(1)], Drain(second));
    }

    [Fact]
    public async Task Segments_roll_over_and_fully_acknowledged_ones_are_deleted()
    {
        var spool = await OpenAsync(o => o.SegmentBytes = 4096);
        for (var i = 0; i < 300; i++)
        {
            await spool.WriteAsync([Line(i)], Ct);
        }

        Assert.True(Directory.GetFiles(directory, "*.seg").Length > 3);
        Assert.Equal(300, Drain(spool).Count);
        await spool.WriteAsync([Line(1000)], Ct);
        Assert.True(Directory.GetFiles(directory, "*.seg").Length <= 2, string.Join(", ", Directory.GetFiles(directory)));
        Assert.Equal([Line(1000)], Drain(spool));
    }

    [Fact]
    public async Task A_full_spool_makes_appends_wait_until_acknowledgements_free_space()
    {
        var spool = await OpenAsync(o => o.MaxBytes = 2048);
        while (spool.PendingBytes + 100 <= 2048)
        {
            await spool.WriteAsync([Line(1)], Ct);
        }

        var waiting = spool.WriteAsync([Line(2), Line(3)], Ct).AsTask();
        var settled = await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromMilliseconds(300), Ct));
        Assert.NotSame(waiting, settled);
        Assert.True(spool.IsFull);

        var batch = spool.TryRead(5)!;
        spool.Acknowledge(batch);
        await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Contains(Line(3), Drain(spool));
    }

    [Fact]
    public async Task An_append_that_finds_the_spool_full_for_too_long_fails_and_is_not_stored()
    {
        var spool = await OpenAsync(o =>
        {
            o.MaxBytes = 1024;
            o.FullWaitTimeout = TimeSpan.FromMilliseconds(200);
        });
        while (spool.PendingBytes + 100 <= 1024)
        {
            await spool.WriteAsync([Line(1)], Ct);
        }

        var pending = spool.PendingLines;
        await Assert.ThrowsAsync<TimeoutException>(async () => await spool.WriteAsync([Line(2), Line(3)], Ct));
        Assert.Equal(pending, spool.PendingLines);
        Assert.DoesNotContain(Line(3), Drain(spool));
    }

    [Fact]
    public async Task Reading_waits_for_the_next_append()
    {
        var spool = await OpenAsync();
        var read = spool.ReadAsync(10, Ct).AsTask();
        Assert.False(read.IsCompleted);
        await spool.WriteAsync([Line(5)], Ct);
        var batch = await read.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal([Line(5)], batch.Lines);
    }

    [Fact]
    public async Task A_message_larger_than_the_read_buffer_is_read_whole()
    {
        var spool = await OpenAsync();
        var big = Enumerable.Range(0, 60_000).Select(Line).ToArray(); // several MiB in one record
        await spool.WriteAsync(big, Ct);
        await spool.WriteAsync([Line(-1)], Ct);
        Assert.Equal([.. big, Line(-1)], Drain(spool));
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
