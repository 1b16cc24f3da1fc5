namespace Telemetry.Domain.Reports;

/// <summary>Where a window's energy comes from.</summary>
public enum EnergySource
{
    /// <summary>Differences of the meter's kWh register.</summary>
    Register,
    /// <summary>Power readings (kW) integrated over time (trapezoidal rule).</summary>
    IntegratedPower,
}

/// <summary>A value at a Unix time in milliseconds.</summary>
public sealed record TimedValue(long TimestampMs, double Value);

/// <summary>A meter replaced at <paramref name="TimestampMs"/>; the new register started at <paramref name="NewRegisterStartKwh"/>.</summary>
public sealed record MeterReplacement(long TimestampMs, double NewRegisterStartKwh);

/// <summary>The energy of the register interval (<paramref name="StartMs"/>, <paramref name="EndMs"/>]; <paramref name="Reset"/> when the register went backwards.</summary>
public sealed record RegisterInterval(long StartMs, long EndMs, double Kwh, bool Reset)
{
    /// <summary>The interval's mean power in kW.</summary>
    public double MeanKw => Kwh / ((EndMs - StartMs) / 3_600_000.0);
}

/// <summary>
/// One window's energy. <paramref name="PeakKw"/>: the highest power reading in the window (register source without
/// power readings: the highest mean power of an interval between register readings), null when nothing is known.
/// <paramref name="Resets"/>: register resets seen (register went backwards); <paramref name="Gaps"/>: power intervals
/// longer than the maximum gap, not integrated.
/// </summary>
public sealed record EnergyWindow(LocalWindow Window, EnergySource Source, double Kwh, double? PeakKw, int Resets, int Gaps);

/// <summary>
/// Energy per local window of one meter, from its register readings where it reports them, else from its power.
/// Rules:
/// <list type="bullet">
/// <item>Register: the energy of an interval between consecutive readings is the difference. A register that goes
/// backwards is a reset: the interval's energy is the new reading counted from zero (never negative). A replacement
/// recorded between two readings starts a new register: the interval's energy is the new reading minus the recorded
/// start (the old meter's energy after its last reading is unknown and not guessed).</item>
/// <item>Power: trapezoidal integration between consecutive readings at most <c>maxGap</c> apart; a longer interval is
/// not integrated and is counted as a gap.</item>
/// <item>An interval spanning several windows is shared between them in proportion to time (register) or by the
/// linearly interpolated power (trapezoid), so the windows' sum equals the total.</item>
/// </list>
/// Pure and deterministic: the same readings give the same result in any input order (readings are sorted by time;
/// of two readings with the same timestamp the later in the input wins, as a correction).
/// </summary>
public static class MeterEnergy
{
    const double MsPerHour = 3_600_000;

    public static IReadOnlyList<EnergyWindow> FromRegister(
        LocalCalendar calendar,
        ReportPeriod period,
        IEnumerable<TimedValue> registerKwh,
        IEnumerable<MeterReplacement> replacements,
        IEnumerable<TimedValue>? powerKw = null)
    {
        ArgumentNullException.ThrowIfNull(calendar);
        var acc = new Accumulator(calendar, period, EnergySource.Register);
        foreach (var interval in RegisterIntervals(registerKwh, replacements))
        {
            if (interval.Reset)
            {
                acc.Window(interval.EndMs).Resets++;
            }

            acc.Share(interval.StartMs, interval.EndMs, interval.Kwh);
        }

        foreach (var p in Sorted(powerKw ?? []))
        {
            acc.Peak(p.TimestampMs, p.Value);
        }

        return acc.Result(derivePeakFromEnergy: powerKw is null || !powerKw.Any());
    }

    public static IReadOnlyList<EnergyWindow> FromPower(
        LocalCalendar calendar,
        ReportPeriod period,
        IEnumerable<TimedValue> powerKw,
        TimeSpan maxGap)
    {
        ArgumentNullException.ThrowIfNull(calendar);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxGap, TimeSpan.Zero);
        var readings = Sorted(powerKw);
        var acc = new Accumulator(calendar, period, EnergySource.IntegratedPower);
        var maxGapMs = (long)maxGap.TotalMilliseconds;
        for (var i = 0; i < readings.Count; i++)
        {
            acc.Peak(readings[i].TimestampMs, readings[i].Value);
            if (i == 0)
            {
                continue;
            }

            var (t0, p0) = (readings[i - 1].TimestampMs, readings[i - 1].Value);
            var (t1, p1) = (readings[i].TimestampMs, readings[i].Value);
            if (t1 - t0 > maxGapMs)
            {
                acc.Window(t1).Gaps++;
                continue;
            }

            acc.Trapezoid(t0, p0, t1, p1);
        }

        return acc.Result(derivePeakFromEnergy: false);
    }

    /// <summary>
    /// The energy of each interval between consecutive register readings (sorted; of two readings with the same
    /// timestamp the later in the input wins), with the reset and replacement rules above: never negative.
    /// </summary>
    public static IReadOnlyList<RegisterInterval> RegisterIntervals(IEnumerable<TimedValue> registerKwh, IEnumerable<MeterReplacement> replacements)
    {
        ArgumentNullException.ThrowIfNull(registerKwh);
        ArgumentNullException.ThrowIfNull(replacements);
        var readings = Sorted(registerKwh);
        var swaps = replacements.OrderBy(r => r.TimestampMs).ToList();
        var intervals = new List<RegisterInterval>(Math.Max(0, readings.Count - 1));
        for (var i = 1; i < readings.Count; i++)
        {
            var (t0, v0) = (readings[i - 1].TimestampMs, readings[i - 1].Value);
            var (t1, v1) = (readings[i].TimestampMs, readings[i].Value);
            var swap = swaps.LastOrDefault(r => r.TimestampMs > t0 && r.TimestampMs <= t1);
            if (swap is not null)
            {
                // From the new register's start; a new register already below its recorded start counts from zero.
                intervals.Add(new(t0, t1, v1 >= swap.NewRegisterStartKwh ? v1 - swap.NewRegisterStartKwh : Math.Max(0, v1), false));
            }
            else if (v1 < v0)
            {
                intervals.Add(new(t0, t1, Math.Max(0, v1), true));
            }
            else
            {
                intervals.Add(new(t0, t1, v1 - v0, false));
            }
        }

        return intervals;
    }

    /// <summary>Register where the meter reports one (two or more register readings), integrated power otherwise.</summary>
    public static IReadOnlyList<EnergyWindow> Compute(
        LocalCalendar calendar,
        ReportPeriod period,
        IReadOnlyCollection<TimedValue> registerKwh,
        IEnumerable<MeterReplacement> replacements,
        IReadOnlyCollection<TimedValue> powerKw,
        TimeSpan maxPowerGap)
    {
        ArgumentNullException.ThrowIfNull(registerKwh);
        return registerKwh.Count >= 2
            ? FromRegister(calendar, period, registerKwh, replacements, powerKw)
            : FromPower(calendar, period, powerKw, maxPowerGap);
    }

    static List<TimedValue> Sorted(IEnumerable<TimedValue> values)
    {
        var byTime = new SortedDictionary<long, double>();
        foreach (var v in values)
        {
            if (double.IsFinite(v.Value))
            {
                byTime[v.TimestampMs] = v.Value;
            }
        }

        return [.. byTime.Select(kv => new TimedValue(kv.Key, kv.Value))];
    }

    sealed class Accumulator(LocalCalendar calendar, ReportPeriod period, EnergySource source)
    {
        readonly SortedDictionary<long, Sums> _windows = [];

        public Sums Window(long timestampMs)
        {
            var window = calendar.WindowOf(period, DateTimeOffset.FromUnixTimeMilliseconds(timestampMs));
            var key = window.StartUtc.ToUnixTimeMilliseconds();
            if (!_windows.TryGetValue(key, out var sums))
            {
                sums = new Sums(window);
                _windows[key] = sums;
            }

            return sums;
        }

        public void Peak(long timestampMs, double kw)
        {
            var sums = Window(timestampMs);
            sums.PeakKw = sums.PeakKw is { } p ? Math.Max(p, kw) : kw;
        }

        /// <summary>Shares <paramref name="kwh"/> of (t0, t1] between the windows in proportion to time.</summary>
        public void Share(long t0, long t1, double kwh)
        {
            if (t1 <= t0)
            {
                return;
            }

            var meanKw = kwh / ((t1 - t0) / MsPerHour);
            for (var a = t0; a < t1;)
            {
                var sums = Window(a);
                var b = Math.Min(t1, sums.Window.EndUtc.ToUnixTimeMilliseconds());
                sums.Kwh += kwh * (b - a) / (t1 - t0);
                sums.PeakFromEnergy = Math.Max(sums.PeakFromEnergy ?? double.NegativeInfinity, meanKw);
                a = b;
            }
        }

        /// <summary>Integrates the straight line from (t0, p0) to (t1, p1), split at window boundaries.</summary>
        public void Trapezoid(long t0, double p0, long t1, double p1)
        {
            double At(long t) => p0 + ((p1 - p0) * (t - t0) / (t1 - t0));
            for (var a = t0; a < t1;)
            {
                var sums = Window(a);
                var b = Math.Min(t1, sums.Window.EndUtc.ToUnixTimeMilliseconds());
                sums.Kwh += (At(a) + At(b)) / 2 * ((b - a) / MsPerHour);
                a = b;
            }
        }

        public IReadOnlyList<EnergyWindow> Result(bool derivePeakFromEnergy) =>
            [.. _windows.Values.Select(s => new EnergyWindow(
                s.Window, source, s.Kwh, derivePeakFromEnergy ? s.PeakFromEnergy : s.PeakKw, s.Resets, s.Gaps))];
    }

    sealed class Sums(LocalWindow window)
    {
        public LocalWindow Window { get; } = window;
        public double Kwh { get; set; }
        public double? PeakKw { get; set; }
        public double? PeakFromEnergy { get; set; }
        public int Resets { get; set; }
        public int Gaps { get; set; }
    }
}
