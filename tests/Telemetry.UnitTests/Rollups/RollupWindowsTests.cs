using System.Text.Json;
using Telemetry.Contracts;
using Telemetry.Domain.Rollups;

namespace Telemetry.UnitTests.Rollups;

public class RollupWindowsTests
{
    // 2026-11-28T10:00:00Z, a multiple of one minute.
    const long T0 = 1_795_860_000_000;
    const long Minute = 60_000;

    static Metric[] M(double value) => [new Metric("temperature", value)];

    static List<RollupPoint> Add(RollupWindows windows, long ts, double value)
    {
        var emitted = new List<RollupPoint>();
        Assert.False(windows.Add(ts, M(value), emitted).TooLate);
        return emitted;
    }

    [Fact]
    public void Nothing_is_emitted_while_the_watermark_is_inside_the_window()
    {
        var windows = new RollupWindows();
        Assert.Empty(Add(windows, T0, 1));
        Assert.Empty(Add(windows, T0 + 30_000, 2));
        Assert.Empty(Add(windows, T0 + Minute - 1, 3));
    }

    [Fact]
    public void A_reading_at_exactly_the_boundary_belongs_to_the_next_window_and_closes_the_previous()
    {
        var windows = new RollupWindows();
        Add(windows, T0, 1);
        Add(windows, T0 + Minute - 1, 5);
        var emitted = Add(windows, T0 + Minute, 100);

        var point = Assert.Single(emitted);
        Assert.Equal(new RollupPoint("temperature", T0, 1, 5, 3, 2, 5, IsRewrite: false), point);

        Assert.Empty(Add(windows, T0 + 2 * Minute - 1, 200));
        var next = Assert.Single(Add(windows, T0 + 2 * Minute, 0));
        Assert.Equal(T0 + Minute, next.WindowStartMs);
        Assert.Equal(2, next.Count);
        Assert.Equal(100, next.Min);
        Assert.Equal(200, next.Max);
    }

    [Fact]
    public void Windows_are_aligned_to_epoch_multiples_of_the_window_length()
    {
        var windows = new RollupWindows(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10));
        Add(windows, T0 + 7 * Minute + 123, 1);
        var point = Assert.Single(Add(windows, T0 + 10 * Minute, 2));
        Assert.Equal(T0 + 5 * Minute, point.WindowStartMs);
        Assert.Equal(0, point.WindowStartMs % (5 * Minute));
    }

    [Fact]
    public void Out_of_order_readings_inside_a_window_give_exact_aggregates_and_last_by_timestamp()
    {
        var windows = new RollupWindows();
        Add(windows, T0 + 40_000, 4);   // latest in time, but not the last to arrive
        Add(windows, T0 + 10_000, -2);
        Add(windows, T0 + 20_000, 10);
        Add(windows, T0 + 5_000, 0.5);

        var point = Assert.Single(Add(windows, T0 + Minute + 1, 0));
        Assert.Equal(-2, point.Min);
        Assert.Equal(10, point.Max);
        Assert.Equal(4, point.Count);
        Assert.Equal((4 - 2 + 10 + 0.5) / 4, point.Mean, 12);
        Assert.Equal(4, point.Last);
    }

    [Fact]
    public void Out_of_order_readings_across_windows_land_in_their_own_windows()
    {
        var windows = new RollupWindows();
        var emitted = new List<RollupPoint>();
        windows.Add(T0 + Minute + 10, M(20), emitted);     // window 1
        windows.Add(T0 + 10, M(10), emitted);              // window 0, arrives later
        windows.Add(T0 + 2 * Minute + 10, M(30), emitted); // window 2: closes 0 and 1
        windows.Add(T0 + Minute + 20, M(21), emitted);     // late for window 1: rewrite

        Assert.Equal(3, emitted.Count);
        Assert.Equal((T0, 1L, 10.0, false), (emitted[0].WindowStartMs, emitted[0].Count, emitted[0].Last, emitted[0].IsRewrite));
        Assert.Equal((T0 + Minute, 1L, 20.0, false), (emitted[1].WindowStartMs, emitted[1].Count, emitted[1].Last, emitted[1].IsRewrite));
        Assert.Equal((T0 + Minute, 2L, 21.0, true), (emitted[2].WindowStartMs, emitted[2].Count, emitted[2].Last, emitted[2].IsRewrite));
    }

    [Fact]
    public void A_late_reading_within_the_lateness_rewrites_the_window_with_correct_values()
    {
        var windows = new RollupWindows();
        Add(windows, T0 + 10_000, 5);
        Add(windows, T0 + 50_000, 7);
        Assert.Single(Add(windows, T0 + 5 * Minute, 0));

        // Older than every reading of the window: min and mean change, last stays the reading at +50 s.
        var rewrite = Assert.Single(Add(windows, T0 + 1_000, 1));
        Assert.Equal(new RollupPoint("temperature", T0, 1, 7, 13.0 / 3, 3, 7, IsRewrite: true), rewrite);

        // Newer than every reading of the window: last changes.
        var again = Assert.Single(Add(windows, T0 + 59_999, 2));
        Assert.Equal(new RollupPoint("temperature", T0, 1, 7, 15.0 / 4, 4, 2, IsRewrite: true), again);
        Assert.Equal(0, windows.TooLateReadings);
    }

    [Fact]
    public void A_late_reading_rewrites_only_the_metrics_it_carries()
    {
        var windows = new RollupWindows();
        var emitted = new List<RollupPoint>();
        windows.Add(T0, [new Metric("a", 1), new Metric("b", 2)], emitted);
        windows.Add(T0 + Minute, [new Metric("a", 1), new Metric("b", 2)], emitted);
        Assert.Equal(["a", "b"], emitted.Select(p => p.Metric));

        emitted.Clear();
        windows.Add(T0 + 1, [new Metric("b", 4)], emitted);
        var point = Assert.Single(emitted);
        Assert.Equal(("b", 2L, 3.0, true), (point.Metric, point.Count, point.Mean, point.IsRewrite));
    }

    [Fact]
    public void A_reading_after_the_lateness_is_too_late_counted_and_not_aggregated()
    {
        var windows = new RollupWindows(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10));
        Add(windows, T0 + 1, 1);
        var emitted = new List<RollupPoint>();
        windows.Add(T0 + 11 * Minute, M(50), emitted); // window 0 ends at T0+1m; closed at T0+11m

        var result = windows.Add(T0 + 30_000, M(99), emitted);
        Assert.True(result.TooLate);
        Assert.Equal(0, result.Aggregated);
        Assert.Equal(1, windows.TooLateReadings);
        Assert.Single(emitted); // only window 0's first emission
        Assert.Equal(1, emitted[0].Count);
    }

    [Fact]
    public void The_last_moment_within_the_lateness_is_still_accepted()
    {
        var windows = new RollupWindows(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10));
        Add(windows, T0 + 1, 1);
        Add(windows, T0 + 11 * Minute - 1, 50);

        var rewrite = Assert.Single(Add(windows, T0 + 2, 3));
        Assert.True(rewrite.IsRewrite);
        Assert.Equal(2, rewrite.Count);
        Assert.Equal(0, windows.TooLateReadings);
    }

    [Fact]
    public void A_resent_reading_with_the_same_timestamp_is_a_duplicate_and_counts_once()
    {
        var windows = new RollupWindows();
        Add(windows, T0 + 1_000, 10);
        Add(windows, T0 + 2_000, 20);

        var emitted = new List<RollupPoint>();
        var result = windows.Add(T0 + 1_000, M(10), emitted);
        Assert.Equal(new RollupAddResult(0, 1, false), result);
        Assert.Equal(1, windows.DuplicateReadings);

        var point = Assert.Single(Add(windows, T0 + Minute, 0));
        Assert.Equal(2, point.Count);
        Assert.Equal(15, point.Mean);
    }

    [Fact]
    public void A_duplicate_arriving_after_the_window_was_emitted_does_not_rewrite_it()
    {
        var windows = new RollupWindows();
        Add(windows, T0 + 1_000, 10);
        Add(windows, T0 + Minute, 0);

        var emitted = new List<RollupPoint>();
        Assert.Equal(1, windows.Add(T0 + 1_000, M(10), emitted).Duplicates);
        Assert.Empty(emitted);
    }

    [Fact]
    public void Flush_emits_open_windows_once_and_later_readings_rewrite_them()
    {
        var windows = new RollupWindows();
        Add(windows, T0 + 1_000, 10);
        Add(windows, T0 + 2_000, 30);

        var flushed = new List<RollupPoint>();
        windows.Flush(flushed);
        Assert.Equal(new RollupPoint("temperature", T0, 10, 30, 20, 2, 30, IsRewrite: false), Assert.Single(flushed));

        var again = new List<RollupPoint>();
        windows.Flush(again);
        Assert.Empty(again); // nothing changed since

        // The sensor comes back within the window: the window closes later as a rewrite of the flushed point.
        Add(windows, T0 + 3_000, 50);
        var closed = Assert.Single(Add(windows, T0 + Minute, 0));
        Assert.Equal(new RollupPoint("temperature", T0, 10, 50, 30, 3, 50, IsRewrite: true), closed);
    }

    [Fact]
    public void A_flushed_window_still_accepts_late_readings_within_the_lateness()
    {
        var windows = new RollupWindows();
        Add(windows, T0 + 1_000, 10);
        Add(windows, T0 + Minute + 1_000, 20); // closes window 0
        var flushed = new List<RollupPoint>();
        windows.Flush(flushed);
        Assert.Equal(T0 + Minute, Assert.Single(flushed).WindowStartMs);

        // Buffered readings of the flushed window arrive: aggregated, and re-emitted once the watermark passes the window.
        Assert.Empty(Add(windows, T0 + Minute + 500, 40));
        var rewrite = Assert.Single(Add(windows, T0 + 2 * Minute, 0));
        Assert.Equal((T0 + Minute, 2L, 20.0, 40.0, true), (rewrite.WindowStartMs, rewrite.Count, rewrite.Last, rewrite.Max, rewrite.IsRewrite));

        // And a reading for the already closed, flushed and rewritten window 0 within the lateness rewrites it again.
        var late = Assert.Single(Add(windows, T0 + 2_000, 12));
        Assert.Equal((T0, 2L, 11.0, true), (late.WindowStartMs, late.Count, late.Mean, late.IsRewrite));
    }

    [Fact]
    public void Memory_stays_bounded_over_a_long_run()
    {
        var windows = new RollupWindows(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10));
        var emitted = new List<RollupPoint>();
        var maxWindows = 0;
        const int readings = 7 * 24 * 60 * 6; // a week at one reading every 10 s
        for (var i = 0; i < readings; i++)
        {
            // A little disorder: every third reading arrives 25 s late.
            var ts = T0 + (i * 10_000L) - (i % 3 == 0 ? 25_000 : 0);
            windows.Add(ts, [new Metric("temperature", i), new Metric("humidity", i % 100)], emitted);
            maxWindows = Math.Max(maxWindows, windows.OpenWindowCount);
        }

        Assert.InRange(maxWindows, 1, 12); // lateness/window + the current one + one being filled ahead
        Assert.Equal(0, windows.TooLateReadings);
        var windowStarts = emitted.Where(p => !p.IsRewrite && p.Metric == "temperature").Select(p => p.WindowStartMs).ToList();
        Assert.Equal(windowStarts.Distinct().Count(), windowStarts.Count);
        Assert.True(windowStarts.Count >= readings / 6 - 2);
        var state = windows.ToState();
        Assert.True(state.Windows.Sum(w => w.Metrics.Sum(m => m.Timestamps.Count)) <= 12 * 6 * 2 + 10);
    }

    [Fact]
    public void State_round_trips_through_System_Text_Json()
    {
        var windows = new RollupWindows(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5));
        var emitted = new List<RollupPoint>();
        windows.Add(T0 + 1_000, [new Metric("a", 1), new Metric("b", -1)], emitted);
        windows.Add(T0 + 2_000, [new Metric("a", 3)], emitted);
        windows.Add(T0 + Minute + 1_000, [new Metric("a", 7)], emitted); // window 0 emitted
        windows.Add(T0 + 2_000, [new Metric("a", 3)], emitted);          // duplicate
        windows.Add(T0 - 10 * Minute, [new Metric("a", 3)], emitted);    // too late
        Assert.Equal(2, emitted.Count);

        var json = JsonSerializer.Serialize(windows.ToState());
        var restored = new RollupWindows(JsonSerializer.Deserialize<RollupState>(json)!);

        Assert.Equal(windows.WatermarkMs, restored.WatermarkMs);
        Assert.Equal(1, restored.TooLateReadings);
        Assert.Equal(1, restored.DuplicateReadings);
        Assert.Equal(TimeSpan.FromMinutes(5), restored.AllowedLateness);
        Assert.Equal(json, JsonSerializer.Serialize(restored.ToState()));

        // The restored instance behaves like the original: duplicates recognised, rewrites marked, open windows kept.
        var fromOriginal = new List<RollupPoint>();
        var fromRestored = new List<RollupPoint>();
        foreach (var (ts, value) in new[] { (T0 + 1_000, 1.0), (T0 + 3_000, 9.0), (T0 + 2 * Minute, 0.0) })
        {
            windows.Add(ts, [new Metric("a", value)], fromOriginal);
            restored.Add(ts, [new Metric("a", value)], fromRestored);
        }

        Assert.Equal(fromOriginal, fromRestored);
        Assert.Contains(fromRestored, p => p is { WindowStartMs: T0, IsRewrite: true, Count: 3, Max: 9 });
    }

    [Fact]
    public void A_corrupt_state_is_refused_with_a_clear_error()
    {
        var bad = new RollupState(60_000, 600_000, T0, 0, 0, [new RollupWindowState(T0 + 1, [])]);
        var ex = Assert.Throws<ArgumentException>(() => new RollupWindows(bad));
        Assert.Contains("multiple of 60000", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RollupWindows(new RollupState(0, 0, null, 0, 0, [])));
    }

    [Fact]
    public void A_fast_sensor_keeps_its_aggregates_exact_while_only_the_first_timestamps_of_a_window_are_remembered()
    {
        var windows = new RollupWindows();
        var emitted = new List<RollupPoint>();
        var count = RollupWindows.MaxTrackedTimestamps + 300;
        for (var i = 0; i < count; i++)
        {
            windows.Add(T0 + i * 10, M(i), emitted);
        }

        // A resend of an early reading is still recognised.
        Assert.Equal(1, windows.Add(T0, M(0), emitted).Duplicates);
        var state = windows.ToState();
        Assert.Equal(RollupWindows.MaxTrackedTimestamps, state.Windows.Single().Metrics.Single().Timestamps.Count);

        windows.Add(T0 + Minute, M(0), emitted);
        var point = Assert.Single(emitted);
        Assert.Equal((count, 0.0, count - 1.0, (count - 1) / 2.0), (point.Count, point.Min, point.Max, point.Mean));
    }
}
