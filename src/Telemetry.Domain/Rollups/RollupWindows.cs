namespace Telemetry.Domain.Rollups;

/// <summary>
/// Per-metric aggregates of one sensor over fixed windows aligned to multiples of the window length since the Unix
/// epoch (the <c>telemetry_1m</c> points). Event-time based: the watermark is the greatest reading timestamp seen.
/// A window is emitted once the watermark reaches its end, and stays open for late readings until the watermark reaches
/// its end plus the allowed lateness; a late reading re-emits the window's point (same window start, so InfluxDB
/// overwrites it). Not thread-safe: one instance per sensor, used by its grain only.
/// </summary>
public sealed class RollupWindows
{
    /// <summary>How many reading timestamps a window remembers per metric to recognise resent readings.</summary>
    public const int MaxTrackedTimestamps = 512;

    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan DefaultAllowedLateness = TimeSpan.FromMinutes(10);

    readonly long _windowMs;
    readonly long _latenessMs;
    readonly SortedDictionary<long, OpenWindow> _windows = [];
    long? _watermarkMs;

    public RollupWindows()
        : this(DefaultWindow, DefaultAllowedLateness)
    {
    }

    public RollupWindows(TimeSpan window, TimeSpan allowedLateness)
    {
        _windowMs = (long)window.TotalMilliseconds;
        _latenessMs = (long)allowedLateness.TotalMilliseconds;
        if (_windowMs <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(window), window, "the roll-up window must be at least 1 ms");
        }

        if (_latenessMs < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(allowedLateness), allowedLateness, "the allowed lateness must not be negative");
        }
    }

    /// <summary>Restores the windows from <see cref="ToState"/> (e.g. a grain's persisted state).</summary>
    public RollupWindows(RollupState state)
        : this(TimeSpan.FromMilliseconds(Checked(state).WindowMs), TimeSpan.FromMilliseconds(state.AllowedLatenessMs))
    {
        _watermarkMs = state.WatermarkMs;
        TooLateReadings = state.TooLateReadings;
        DuplicateReadings = state.DuplicateReadings;
        foreach (var w in state.Windows ?? [])
        {
            if (w is null || Floor(w.StartMs) != w.StartMs)
            {
                throw new ArgumentException($"roll-up state holds a window that does not start at a multiple of {_windowMs} ms", nameof(state));
            }

            var window = new OpenWindow(w.StartMs);
            foreach (var m in w.Metrics ?? [])
            {
                if (m is null || string.IsNullOrEmpty(m.Metric) || m.Count <= 0)
                {
                    throw new ArgumentException($"roll-up state holds an empty metric aggregate in window {w.StartMs}", nameof(state));
                }

                window.Metrics.Add(new Aggregate(m.Metric)
                {
                    Min = m.Min,
                    Max = m.Max,
                    Sum = m.Sum,
                    Count = m.Count,
                    LastTimestampMs = m.LastTimestampMs,
                    LastValue = m.LastValue,
                    Emitted = m.Emitted,
                    Dirty = m.Dirty,
                    Timestamps = [.. m.Timestamps ?? []],
                });
            }

            _windows[w.StartMs] = window;
        }
    }

    public TimeSpan Window => TimeSpan.FromMilliseconds(_windowMs);

    public TimeSpan AllowedLateness => TimeSpan.FromMilliseconds(_latenessMs);

    /// <summary>The greatest reading timestamp seen, or null before the first reading.</summary>
    public long? WatermarkMs => _watermarkMs;

    /// <summary>Readings that arrived after their window had closed (watermark ≥ window end + allowed lateness); not aggregated.</summary>
    public long TooLateReadings { get; private set; }

    /// <summary>Readings of which at least one metric value repeated a timestamp already aggregated in its window.</summary>
    public long DuplicateReadings { get; private set; }

    /// <summary>Windows held in memory (open, emitted or not).</summary>
    public int OpenWindowCount => _windows.Count;

    /// <summary>
    /// Aggregates one reading and appends to <paramref name="emitted"/> the points of every window the reading closed
    /// or changed after it had been emitted.
    /// </summary>
    public RollupAddResult Add(long timestampMs, IReadOnlyList<Telemetry.Contracts.Metric> metrics, List<RollupPoint> emitted)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(emitted);

        var start = Floor(timestampMs);
        if (IsClosed(start))
        {
            TooLateReadings++;
            return new RollupAddResult(0, 0, TooLate: true);
        }

        var aggregated = 0;
        var duplicates = 0;
        if (metrics.Count > 0)
        {
            if (!_windows.TryGetValue(start, out var window))
            {
                window = new OpenWindow(start);
                _windows[start] = window;
            }

            foreach (var metric in metrics)
            {
                // The parsers refuse non-finite values; one slipping through must not poison min/max/mean.
                if (metric.Name is null || !double.IsFinite(metric.Value))
                {
                    continue;
                }

                if (window.GetOrAdd(metric.Name).Add(timestampMs, metric.Value))
                {
                    aggregated++;
                }
                else
                {
                    duplicates++;
                }
            }

            if (window.Metrics.Count == 0)
            {
                _windows.Remove(start);
            }
        }

        if (duplicates > 0)
        {
            DuplicateReadings++;
        }

        if (_watermarkMs is null || timestampMs > _watermarkMs)
        {
            _watermarkMs = timestampMs;
        }

        EmitAndEvict(emitted);
        return new RollupAddResult(aggregated, duplicates, TooLate: false);
    }

    /// <summary>
    /// Emits every held window in its current state that has not been emitted since it last changed, including windows
    /// the watermark has not passed yet (the sensor went quiet, or the grain deactivates). Flushed windows keep
    /// accepting readings while within the allowed lateness; a change re-emits them as a rewrite.
    /// </summary>
    public void Flush(List<RollupPoint> emitted)
    {
        ArgumentNullException.ThrowIfNull(emitted);
        foreach (var window in _windows.Values)
        {
            window.EmitDirty(emitted);
        }
    }

    /// <summary>A snapshot for persistence; plain records and lists that round-trip through System.Text.Json.</summary>
    public RollupState ToState() => new(
        _windowMs,
        _latenessMs,
        _watermarkMs,
        TooLateReadings,
        DuplicateReadings,
        [.. _windows.Values.Select(w => new RollupWindowState(
            w.StartMs,
            [.. w.Metrics.Select(m => new RollupMetricState(
                m.Metric, m.Min, m.Max, m.Sum, m.Count, m.LastTimestampMs, m.LastValue, m.Emitted, m.Dirty,
                [.. m.Timestamps.Order()]))]))]);

    bool IsClosed(long windowStartMs) =>
        _watermarkMs is { } watermark && windowStartMs + _windowMs + _latenessMs <= watermark;

    void EmitAndEvict(List<RollupPoint> emitted)
    {
        var watermark = _watermarkMs!.Value;
        List<long>? evict = null;
        foreach (var (start, window) in _windows)
        {
            var end = start + _windowMs;
            if (end > watermark)
            {
                break;
            }

            window.EmitDirty(emitted);
            if (end + _latenessMs <= watermark)
            {
                (evict ??= []).Add(start);
            }
        }

        if (evict is not null)
        {
            foreach (var start in evict)
            {
                _windows.Remove(start);
            }
        }
    }

    long Floor(long timestampMs)
    {
        var remainder = timestampMs % _windowMs;
        return remainder < 0 ? timestampMs - remainder - _windowMs : timestampMs - remainder;
    }

    static RollupState Checked(RollupState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state;
    }

    sealed class OpenWindow(long startMs)
    {
        public long StartMs { get; } = startMs;

        public List<Aggregate> Metrics { get; } = [];

        public Aggregate GetOrAdd(string metric)
        {
            foreach (var m in Metrics)
            {
                if (string.Equals(m.Metric, metric, StringComparison.Ordinal))
                {
                    return m;
                }
            }

            var created = new Aggregate(metric);
            Metrics.Add(created);
            return created;
        }

        public void EmitDirty(List<RollupPoint> emitted)
        {
            foreach (var m in Metrics)
            {
                if (m.Dirty)
                {
                    emitted.Add(new RollupPoint(m.Metric, StartMs, m.Min, m.Max, m.Sum / m.Count, m.Count, m.LastValue, IsRewrite: m.Emitted));
                    m.Emitted = true;
                    m.Dirty = false;
                }
            }
        }
    }

    sealed class Aggregate(string metric)
    {
        public string Metric { get; } = metric;
        public double Min { get; set; } = double.PositiveInfinity;
        public double Max { get; set; } = double.NegativeInfinity;
        public double Sum { get; set; }
        public long Count { get; set; }
        public long LastTimestampMs { get; set; } = long.MinValue;
        public double LastValue { get; set; }
        public bool Emitted { get; set; }
        public bool Dirty { get; set; }
        public HashSet<long> Timestamps { get; init; } = [];

        /// <summary>False when a value with this timestamp was already aggregated (a resend after a lost acknowledgement).</summary>
        public bool Add(long timestampMs, double value)
        {
            if (Timestamps.Contains(timestampMs))
            {
                return false;
            }

            // Resends are recognised for the first MaxTrackedTimestamps values of a window and metric: enough for any
            // sensor reporting less often than every ~120 ms; a faster one would otherwise hold up to 12 windows ×
            // thousands of timestamps (tens of MB across a few hundred such sensors, measured in the e2e benchmark).
            if (Timestamps.Count < MaxTrackedTimestamps)
            {
                Timestamps.Add(timestampMs);
            }

            Min = Math.Min(Min, value);
            Max = Math.Max(Max, value);
            Sum += value;
            Count++;
            if (timestampMs > LastTimestampMs)
            {
                LastTimestampMs = timestampMs;
                LastValue = value;
            }

            Dirty = true;
            return true;
        }
    }
}

/// <summary>
/// One <c>telemetry_1m</c> point: a metric's aggregates over the window starting at <paramref name="WindowStartMs"/>.
/// <paramref name="Last"/> is the value with the greatest timestamp in the window (not the last to arrive).
/// <paramref name="IsRewrite"/> is true when a point for the same metric and window was emitted before; written with the
/// same time it overwrites that point.
/// </summary>
public sealed record RollupPoint(
    string Metric,
    long WindowStartMs,
    double Min,
    double Max,
    double Mean,
    long Count,
    double Last,
    bool IsRewrite);

/// <summary>What <see cref="RollupWindows.Add"/> did with a reading.</summary>
/// <param name="Aggregated">Metric values aggregated.</param>
/// <param name="Duplicates">Metric values dropped because their window already held a value with the same timestamp.</param>
/// <param name="TooLate">The reading's window had closed; nothing was aggregated (the caller may log it).</param>
public readonly record struct RollupAddResult(int Aggregated, int Duplicates, bool TooLate);

/// <summary>Persistable state of <see cref="RollupWindows"/>.</summary>
public sealed record RollupState(
    long WindowMs,
    long AllowedLatenessMs,
    long? WatermarkMs,
    long TooLateReadings,
    long DuplicateReadings,
    IReadOnlyList<RollupWindowState> Windows);

public sealed record RollupWindowState(long StartMs, IReadOnlyList<RollupMetricState> Metrics);

/// <summary>
/// One metric's aggregate in one window. <paramref name="Dirty"/>: changed since it was last emitted.
/// <paramref name="Timestamps"/>: the reading timestamps aggregated, to recognise resent readings.
/// </summary>
public sealed record RollupMetricState(
    string Metric,
    double Min,
    double Max,
    double Sum,
    long Count,
    long LastTimestampMs,
    double LastValue,
    bool Emitted,
    bool Dirty,
    IReadOnlyList<long> Timestamps);
