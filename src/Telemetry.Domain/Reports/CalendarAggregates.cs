namespace Telemetry.Domain.Reports;

/// <summary>
/// Per-metric min/max/mean/count/last over local hour or day windows (<see cref="LocalCalendar"/>), accepting readings
/// in any order within an allowed lateness. Event time: the watermark is the greatest reading timestamp seen. A window
/// is closed, and dropped from memory, once the watermark reaches its end plus the lateness; a reading for a closed
/// window is counted in <see cref="TooLateReadings"/> and not aggregated. Readings are kept per window and metric by
/// timestamp, so a reading resent with the same timestamp replaces the earlier value (a correction) instead of adding
/// to it, and the aggregate is recomputed from the kept readings. <see cref="Add"/> says which windows changed, so the
/// caller rewrites exactly those points (same series, same timestamp = window start). Not thread-safe.
/// </summary>
public sealed class CalendarAggregates
{
    readonly SortedDictionary<long, OpenWindow> _windows = [];

    public CalendarAggregates(LocalCalendar calendar, ReportPeriod period, TimeSpan allowedLateness)
    {
        ArgumentNullException.ThrowIfNull(calendar);
        ArgumentOutOfRangeException.ThrowIfLessThan(allowedLateness, TimeSpan.Zero);
        Calendar = calendar;
        Period = period;
        AllowedLateness = allowedLateness;
    }

    /// <summary>Restores from <see cref="ToState"/>.</summary>
    public CalendarAggregates(CalendarAggregateState state)
        : this(LocalCalendar.ForZone(Checked(state).TimeZone), state.Period, TimeSpan.FromMilliseconds(state.AllowedLatenessMs))
    {
        WatermarkMs = state.WatermarkMs;
        TooLateReadings = state.TooLateReadings;
        foreach (var w in state.Windows ?? [])
        {
            var window = Calendar.WindowOf(Period, DateTimeOffset.FromUnixTimeMilliseconds(w.StartMs));
            if (window.StartUtc.ToUnixTimeMilliseconds() != w.StartMs)
            {
                throw new ArgumentException($"report state holds a window starting at {w.StartMs} that is not a {Period} window start in {state.TimeZone}", nameof(state));
            }

            var open = GetOrAdd(window);
            foreach (var m in w.Metrics ?? [])
            {
                var readings = open.GetOrAdd(m.Metric);
                foreach (var r in m.Readings ?? [])
                {
                    readings[r.TimestampMs] = r.Value;
                }
            }
        }
    }

    public LocalCalendar Calendar { get; }

    public ReportPeriod Period { get; }

    public TimeSpan AllowedLateness { get; }

    public long? WatermarkMs { get; private set; }

    /// <summary>Readings whose window had closed when they arrived; not aggregated.</summary>
    public long TooLateReadings { get; private set; }

    /// <summary>Windows held in memory.</summary>
    public int OpenWindowCount => _windows.Count;

    /// <summary>
    /// Aggregates one value. Returns what happened and adds to <paramref name="changed"/> the window if its aggregate
    /// for <paramref name="metric"/> changed (a new value, or a correction to a different value); windows closed by the
    /// advancing watermark are dropped.
    /// </summary>
    public CalendarAddOutcome Add(string metric, long timestampMs, double value, List<CalendarPoint> changed)
    {
        ArgumentException.ThrowIfNullOrEmpty(metric);
        ArgumentNullException.ThrowIfNull(changed);
        if (!double.IsFinite(value))
        {
            return CalendarAddOutcome.NotFinite;
        }

        var window = Calendar.WindowOf(Period, DateTimeOffset.FromUnixTimeMilliseconds(timestampMs));
        if (IsClosed(window.EndUtc.ToUnixTimeMilliseconds()))
        {
            TooLateReadings++;
            return CalendarAddOutcome.TooLate;
        }

        var readings = GetOrAdd(window).GetOrAdd(metric);
        var outcome = CalendarAddOutcome.Added;
        if (readings.TryGetValue(timestampMs, out var old))
        {
            outcome = old.Equals(value) ? CalendarAddOutcome.Unchanged : CalendarAddOutcome.Corrected;
        }

        readings[timestampMs] = value;
        if (outcome != CalendarAddOutcome.Unchanged)
        {
            changed.Add(Point(window, metric, readings));
        }

        if (WatermarkMs is null || timestampMs > WatermarkMs)
        {
            WatermarkMs = timestampMs;
            Evict();
        }

        return outcome;
    }

    /// <summary>The current points of every held window, in window and metric order.</summary>
    public IReadOnlyList<CalendarPoint> Points() =>
        [.. _windows.Values.SelectMany(w => w.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => Point(w.Window, m.Key, m.Value)))];

    /// <summary>A snapshot of plain records that round-trips through System.Text.Json.</summary>
    public CalendarAggregateState ToState() => new(
        Calendar.Zone.Id,
        Period,
        (long)AllowedLateness.TotalMilliseconds,
        WatermarkMs,
        TooLateReadings,
        [.. _windows.Values.Select(w => new CalendarWindowState(
            w.Window.StartUtc.ToUnixTimeMilliseconds(),
            [.. w.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => new CalendarMetricState(
                m.Key, [.. m.Value.Select(r => new TimedValue(r.Key, r.Value))]))]))]);

    bool IsClosed(long windowEndMs) =>
        WatermarkMs is { } watermark && windowEndMs + (long)AllowedLateness.TotalMilliseconds <= watermark;

    void Evict()
    {
        List<long>? closed = null;
        foreach (var (start, w) in _windows)
        {
            if (!IsClosed(w.Window.EndUtc.ToUnixTimeMilliseconds()))
            {
                break;
            }

            (closed ??= []).Add(start);
        }

        foreach (var start in closed ?? [])
        {
            _windows.Remove(start);
        }
    }

    OpenWindow GetOrAdd(LocalWindow window)
    {
        var key = window.StartUtc.ToUnixTimeMilliseconds();
        if (!_windows.TryGetValue(key, out var open))
        {
            open = new OpenWindow(window);
            _windows[key] = open;
        }

        return open;
    }

    static CalendarPoint Point(LocalWindow window, string metric, SortedDictionary<long, double> readings)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0;
        foreach (var v in readings.Values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            sum += v;
        }

        return new CalendarPoint(metric, window, min, max, sum / readings.Count, readings.Count, readings.Values.Last());
    }

    static CalendarAggregateState Checked(CalendarAggregateState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state;
    }

    sealed class OpenWindow(LocalWindow window)
    {
        public LocalWindow Window { get; } = window;

        public Dictionary<string, SortedDictionary<long, double>> Metrics { get; } = new(StringComparer.Ordinal);

        public SortedDictionary<long, double> GetOrAdd(string metric)
        {
            if (!Metrics.TryGetValue(metric, out var readings))
            {
                readings = [];
                Metrics[metric] = readings;
            }

            return readings;
        }
    }
}

/// <summary>What <see cref="CalendarAggregates.Add"/> did with a value.</summary>
public enum CalendarAddOutcome
{
    /// <summary>A new timestamp in its window.</summary>
    Added,
    /// <summary>Replaced a different value with the same timestamp.</summary>
    Corrected,
    /// <summary>The same value with the same timestamp again (a resend); nothing changed.</summary>
    Unchanged,
    /// <summary>Its window had closed (watermark ≥ window end + lateness); counted, not aggregated.</summary>
    TooLate,
    /// <summary>NaN or infinity; ignored.</summary>
    NotFinite,
}

/// <summary>
/// A metric's aggregate over one local window; written at <c>Window.StartUtc</c> it replaces the earlier point of the
/// same window. <paramref name="Last"/> is the value with the greatest timestamp.
/// </summary>
public sealed record CalendarPoint(string Metric, LocalWindow Window, double Min, double Max, double Mean, long Count, double Last);

public sealed record CalendarAggregateState(
    string TimeZone,
    ReportPeriod Period,
    long AllowedLatenessMs,
    long? WatermarkMs,
    long TooLateReadings,
    IReadOnlyList<CalendarWindowState> Windows);

public sealed record CalendarWindowState(long StartMs, IReadOnlyList<CalendarMetricState> Metrics);

public sealed record CalendarMetricState(string Metric, IReadOnlyList<TimedValue> Readings);

/// <summary>A value at a Unix time in milliseconds.</summary>
public sealed record TimedValue(long TimestampMs, double Value);
