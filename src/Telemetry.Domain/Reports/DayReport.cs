using Telemetry.Domain.Campus;

namespace Telemetry.Domain.Reports;

/// <summary>One raw reading of a sensor: every metric it reported at that instant.</summary>
public sealed record RawReading(long TimestampMs, IReadOnlyDictionary<string, double> Values);

/// <summary>How reports are computed (from the <c>Reports</c> configuration section).</summary>
/// <param name="Lookback">How long a reading holds (sample-and-hold) and how far before/after the day readings are read;
/// also the longest power gap that is integrated.</param>
public sealed record ReportSettings(TimeSpan Lookback, int OvernightStartHour, int OvernightEndHour)
{
    public static ReportSettings Default { get; } = new(TimeSpan.FromMinutes(15), 0, 5);
}

/// <summary>
/// Everything needed to compute one building's figures for one local day: its registered sensors' raw readings in
/// <c>[Day.StartUtc − Lookback, Day.EndUtc + Lookback)</c>, keyed by sensor id (sorted by time or not; of two readings
/// with the same timestamp the later in the list wins).
/// </summary>
public sealed record DayReportInput(
    LocalCalendar Calendar,
    LocalWindow Day,
    CampusRegistry Registry,
    Building Building,
    IReadOnlyDictionary<string, IReadOnlyList<RawReading>> Readings,
    ReportSettings Settings);

/// <summary>Per sensor and metric over one window (<c>telemetry_1h</c>/<c>telemetry_1d</c>).</summary>
public sealed record SensorFigures(
    LocalWindow Window, string Building, string Room, string Sensor, string Kind, string Metric,
    double Min, double Max, double Mean, long Count, double Last);

/// <summary>One mains meter over one window (<c>meter_1h</c>/<c>meter_1d</c>).</summary>
public sealed record MeterFigures(
    LocalWindow Window, string Building, string Room, string Sensor, string Kind,
    double EnergyKwh, double? PeakKw, int Resets, int Gaps, EnergySource Source);

/// <summary>One room over one window (<c>room_1h</c>/<c>room_1d</c>); null figures are not known and not written.</summary>
public sealed record RoomFigures(
    LocalWindow Window, string Building, string Room, string? RoomType,
    double? OccupiedHours, double? PeopleMean, double? PeopleMax,
    double? TimetabledHours, double? UtilisationPct,
    double? ComfortMinutes, double? ComfortObservedMinutes,
    double? EnergyKwh);

/// <summary>
/// A building or the campus over one window (<c>building_1h/1d</c>, <c>campus_1h/1d</c>): <see cref="Scope"/> is the
/// building id or the campus id. <see cref="BaseLoadKw"/> is set on day windows only; <see cref="Overnight"/> on hour
/// windows only.
/// </summary>
public sealed record EnergyFigures(
    LocalWindow Window, string Scope,
    double EnergyKwh, double? PeakKw, double MeanKw,
    int Meters, int MetersRegister, int MetersPower, int Resets, int Gaps,
    double? OccupiedHours, int Hours, bool? Overnight, bool Weekend, double? BaseLoadKw);

/// <summary>
/// One building's figures for one local day: hour windows and the day window of its sensors, meters, rooms and
/// the building itself. <see cref="MinutePowerKw"/> is the building's mains power per minute of the day (index =
/// minutes since the day's start, NaN where unknown), so the campus peak can be taken over the summed power.
/// </summary>
public sealed record DayReportResult(
    LocalWindow Day,
    string Building,
    IReadOnlyList<SensorFigures> Sensors,
    IReadOnlyList<MeterFigures> Meters,
    IReadOnlyList<RoomFigures> Rooms,
    IReadOnlyList<EnergyFigures> BuildingFigures,
    IReadOnlyList<double> MinutePowerKw);

/// <summary>
/// Hourly and daily figures of one local day, computed from raw readings (pure and deterministic; the rules are in
/// docs/reports.md, "How the figures are computed"). Room and building figures are judged minute by minute: a
/// minute's value of a series is its last reading at or before the minute's start, held for less than
/// <see cref="ReportSettings.Lookback"/> after the reading (sample-and-hold); older means unknown.
/// </summary>
public static class DayReport
{
    const long MinuteMs = 60_000;

    /// <summary>The hour windows and the day window of one building's sensors, meters, rooms and the building.</summary>
    public static DayReportResult Compute(DayReportInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(input.Settings.Lookback, TimeSpan.Zero);
        if (input.Day.Period != ReportPeriod.Day)
        {
            throw new ArgumentException("the day must be a day window of the calendar", nameof(input));
        }

        var grid = new MinuteGrid(input.Calendar, input.Day, (long)input.Settings.Lookback.TotalMilliseconds);
        var sensors = new List<SensorFigures>();
        var meters = new List<MeterFigures>();
        var rooms = new List<RoomFigures>();
        var meterPower = new List<double[]>();
        var covered = new bool[grid.Hours.Count];

        foreach (var room in input.Building.Rooms)
        {
            var air = new RoomAir();
            var people = new List<double[]>();
            var roomMeters = new List<MeterFigures>();
            var hasMeter = false;
            foreach (var sensor in room.Sensors)
            {
                if (!input.Registry.Kinds.TryGetValue(sensor.Kind, out var kind))
                {
                    continue;
                }

                var series = Series(input.Readings.GetValueOrDefault(sensor.Id));
                foreach (var (metric, values) in series)
                {
                    sensors.AddRange(SensorWindows(grid, input.Building.Id, room.Id, sensor, metric, values, covered));
                }

                string? registerMetric = null, powerMetric = null;
                foreach (var (metric, spec) in kind.Metrics)
                {
                    var values = series.GetValueOrDefault(metric);
                    switch (spec.Rollup)
                    {
                        case RollupRole.People:
                            people.Add(grid.Hold(values));
                            break;
                        case RollupRole.Temperature:
                            air.Temperature.Add(grid.Hold(values));
                            break;
                        case RollupRole.Humidity:
                            air.Humidity.Add(grid.Hold(values));
                            break;
                        case RollupRole.Co2:
                            air.Co2.Add(grid.Hold(values));
                            break;
                        case RollupRole.Energy:
                            registerMetric ??= metric;
                            break;
                        case RollupRole.Power:
                            powerMetric ??= metric;
                            break;
                    }
                }

                if (registerMetric is null && powerMetric is null)
                {
                    continue;
                }

                hasMeter = true;
                var meter = Meter(input, grid, room, sensor, kind, registerMetric, powerMetric, series);
                roomMeters.AddRange(meter.Figures);
                meterPower.Add(meter.MinutePowerKw);
            }

            meters.AddRange(roomMeters);
            var timetable = input.Registry.Timetables.GetValueOrDefault(room.Type);
            foreach (var window in grid.AllWindows)
            {
                if (RoomWindow(grid, input.Registry.Comfort, input.Building.Id, room, timetable, window, people, air,
                        hasMeter, roomMeters) is { } figures)
                {
                    rooms.Add(figures);
                }
            }
        }

        foreach (var meter in meters)
        {
            if (meter.Window.Period == ReportPeriod.Hour && grid.HourIndex(meter.Window.StartUtc) is { } index)
            {
                covered[index] = true;
            }
        }

        var minutePower = SumKnown(meterPower, grid.Minutes);
        var buildingFigures = BuildingWindows(grid, input.Building.Id, input.Settings, covered, meters, rooms, minutePower);
        return new DayReportResult(input.Day, input.Building.Id, sensors, meters, rooms, buildingFigures, minutePower);
    }

    /// <summary>
    /// The campus figures (hour windows and the day window) combined from its buildings' results: sums per window, the
    /// peak of the summed per-minute power, the base load of the summed overnight hours.
    /// </summary>
    public static IReadOnlyList<EnergyFigures> Combine(string campusId, LocalWindow day, IReadOnlyList<DayReportResult> buildings, ReportSettings settings)
    {
        ArgumentException.ThrowIfNullOrEmpty(campusId);
        ArgumentNullException.ThrowIfNull(day);
        ArgumentNullException.ThrowIfNull(buildings);
        ArgumentNullException.ThrowIfNull(settings);
        var minutes = (int)Math.Ceiling((day.EndUtc - day.StartUtc).TotalMinutes);
        var power = SumKnown(buildings.Select(b => b.MinutePowerKw), minutes);
        var result = new List<EnergyFigures>();
        var hours = buildings
            .SelectMany(b => b.BuildingFigures)
            .Where(f => f.Window.Period == ReportPeriod.Hour && day.Contains(f.Window.StartUtc))
            .GroupBy(f => f.Window.StartUtc)
            .OrderBy(g => g.Key);
        foreach (var hour in hours)
        {
            var window = hour.First().Window;
            result.Add(Sum(campusId, window, [.. hour], Peak(power, day, window), 1,
                LocalCalendar.IsOvernight(window, settings.OvernightStartHour, settings.OvernightEndHour), null));
        }

        var days = buildings.SelectMany(b => b.BuildingFigures).Where(f => f.Window.Period == ReportPeriod.Day && f.Window.StartUtc == day.StartUtc).ToList();
        if (days.Count > 0)
        {
            var hourFigures = result.ToList();
            result.Add(Sum(campusId, days[0].Window, days, Peak(power, day, day), hourFigures.Count, null, BaseLoad(hourFigures)));
        }

        return result;
    }

    // ---- sensors ----

    /// <summary>Each metric's finite values by time; of two readings with the same timestamp the later in the list wins (per metric).</summary>
    static Dictionary<string, List<TimedValue>> Series(IReadOnlyList<RawReading>? readings)
    {
        var byMetric = new Dictionary<string, SortedDictionary<long, double>>(StringComparer.Ordinal);
        foreach (var reading in readings ?? [])
        {
            foreach (var (metric, value) in reading.Values)
            {
                if (!double.IsFinite(value))
                {
                    continue;
                }

                if (!byMetric.TryGetValue(metric, out var values))
                {
                    values = [];
                    byMetric[metric] = values;
                }

                values[reading.TimestampMs] = value;
            }
        }

        return byMetric.ToDictionary(
            kv => kv.Key, kv => kv.Value.Select(p => new TimedValue(p.Key, p.Value)).ToList(), StringComparer.Ordinal);
    }

    static IEnumerable<SensorFigures> SensorWindows(
        MinuteGrid grid, string building, string room, Sensor sensor, string metric, List<TimedValue> values, bool[] covered)
    {
        var hourStats = new Stats?[grid.Hours.Count];
        Stats? dayStats = null;
        foreach (var value in values)
        {
            if (grid.HourIndex(value.TimestampMs) is not { } index)
            {
                continue;
            }

            covered[index] = true;
            (hourStats[index] ??= new Stats()).Add(value.Value);
            (dayStats ??= new Stats()).Add(value.Value);
        }

        for (var i = 0; i < hourStats.Length; i++)
        {
            if (hourStats[i] is { } stats)
            {
                yield return stats.Figures(grid.Hours[i], building, room, sensor, metric);
            }
        }

        if (dayStats is not null)
        {
            yield return dayStats.Figures(grid.Day, building, room, sensor, metric);
        }
    }

    sealed class Stats
    {
        double _min = double.PositiveInfinity, _max = double.NegativeInfinity, _sum, _last;
        long _count;

        public void Add(double value)
        {
            _min = Math.Min(_min, value);
            _max = Math.Max(_max, value);
            _sum += value;
            _last = value;
            _count++;
        }

        public SensorFigures Figures(LocalWindow window, string building, string room, Sensor sensor, string metric) =>
            new(window, building, room, sensor.Id, sensor.Kind, metric, _min, _max, _sum / _count, _count, _last);
    }

    // ---- meters ----

    static (List<MeterFigures> Figures, double[] MinutePowerKw) Meter(
        DayReportInput input, MinuteGrid grid, Room room, Sensor sensor, SensorKind kind,
        string? registerMetric, string? powerMetric, Dictionary<string, List<TimedValue>> series)
    {
        List<TimedValue> InKilo(string? metric) => metric is not null && series.TryGetValue(metric, out var values)
            ? values.ConvertAll(v => new TimedValue(v.TimestampMs, kind.Metrics[metric].InRollupUnit(v.Value)))
            : [];
        var register = InKilo(registerMetric);
        var power = InKilo(powerMetric);
        var figures = new List<MeterFigures>();
        if (register.Count < 2 && power.Count == 0)
        {
            return (figures, grid.Unknown());
        }

        foreach (var period in (ReadOnlySpan<ReportPeriod>)[ReportPeriod.Hour, ReportPeriod.Day])
        {
            foreach (var w in MeterEnergy.Compute(input.Calendar, period, register, sensor.Replacements, power, input.Settings.Lookback))
            {
                var inDay = period == ReportPeriod.Day
                    ? w.Window.StartUtc == grid.Day.StartUtc
                    : grid.HourIndex(w.Window.StartUtc) is not null;
                if (inDay)
                {
                    figures.Add(new MeterFigures(w.Window, input.Building.Id, room.Id, sensor.Id, sensor.Kind,
                        w.Kwh, w.PeakKw, w.Resets, w.Gaps, w.Source));
                }
            }
        }

        // Hours first, then the day, each in time order.
        figures.Sort((a, b) => a.Window.Period != b.Window.Period
            ? a.Window.Period.CompareTo(b.Window.Period)
            : a.Window.StartUtc.CompareTo(b.Window.StartUtc));
        var minutePower = power.Count > 0
            ? grid.Hold(power)
            : grid.Intervals(MeterEnergy.RegisterIntervals(register, sensor.Replacements));
        return (figures, minutePower);
    }

    // ---- rooms ----

    sealed class RoomAir
    {
        public List<double[]> Temperature { get; } = [];
        public List<double[]> Humidity { get; } = [];
        public List<double[]> Co2 { get; } = [];
        public bool Any => Temperature.Count + Humidity.Count + Co2.Count > 0;
    }

    static RoomFigures? RoomWindow(
        MinuteGrid grid, ComfortBands comfort, string building, Room room, Timetable? timetable, LocalWindow window,
        List<double[]> people, RoomAir air, bool hasMeter, List<MeterFigures> meters)
    {
        var (from, to) = grid.MinuteRange(window);
        int observed = 0, occupied = 0, timetabled = 0, occupiedTimetabled = 0, airObserved = 0, inComfort = 0;
        double peopleSum = 0, peopleMax = double.NegativeInfinity;
        for (var i = from; i < to; i++)
        {
            var isTimetabled = timetable?.Contains(grid.LocalTime(i)) == true;
            timetabled += isTimetabled ? 1 : 0;
            if (people.Count > 0 && KnownSum(people, i) is { } count)
            {
                observed++;
                peopleSum += count;
                peopleMax = Math.Max(peopleMax, count);
                if (count > 0)
                {
                    occupied++;
                    occupiedTimetabled += isTimetabled ? 1 : 0;
                }
            }

            if (air.Any && Comfort(comfort, air, i) is { } ok)
            {
                airObserved++;
                inComfort += ok ? 1 : 0;
            }
        }

        var roomMeters = meters.Where(m => m.Window.Period == window.Period && m.Window.StartUtc == window.StartUtc).ToList();
        double? energy = hasMeter && roomMeters.Count > 0 ? roomMeters.Sum(m => m.EnergyKwh) : null;
        if (observed == 0 && airObserved == 0 && energy is null)
        {
            return null;
        }

        var occupancyKnown = observed > 0;
        return new RoomFigures(
            window, building, room.Id, string.IsNullOrEmpty(room.Type) ? null : room.Type,
            OccupiedHours: occupancyKnown ? occupied / 60.0 : null,
            PeopleMean: occupancyKnown ? peopleSum / observed : null,
            PeopleMax: occupancyKnown ? peopleMax : null,
            TimetabledHours: timetable is null ? null : timetabled / 60.0,
            UtilisationPct: occupancyKnown && timetabled > 0 ? 100.0 * occupiedTimetabled / timetabled : null,
            ComfortMinutes: airObserved > 0 ? inComfort : null,
            ComfortObservedMinutes: airObserved > 0 ? airObserved : null,
            EnergyKwh: energy);
    }

    /// <summary>
    /// Whether the room's air is in the comfort band at minute <paramref name="i"/>: temperature (mean of the room's
    /// sensors) and humidity (mean) within their bands, CO2 (highest) at most its maximum, judged on the figures
    /// known then; null when none is known.
    /// </summary>
    static bool? Comfort(ComfortBands bands, RoomAir air, int i)
    {
        var temperature = MeanKnown(air.Temperature, i);
        var humidity = MeanKnown(air.Humidity, i);
        var co2 = MaxKnown(air.Co2, i);
        if (temperature is null && humidity is null && co2 is null)
        {
            return null;
        }

        return (temperature is not { } t || (t >= bands.TemperatureMinC && t <= bands.TemperatureMaxC))
               && (humidity is not { } h || (h >= bands.HumidityMinPercent && h <= bands.HumidityMaxPercent))
               && (co2 is not { } c || c <= bands.Co2MaxPpm);
    }

    // ---- building and campus ----

    static List<EnergyFigures> BuildingWindows(
        MinuteGrid grid, string building, ReportSettings settings, bool[] covered,
        List<MeterFigures> meters, List<RoomFigures> rooms, double[] minutePower)
    {
        var result = new List<EnergyFigures>();
        for (var i = 0; i < grid.Hours.Count; i++)
        {
            if (!covered[i])
            {
                continue;
            }

            var window = grid.Hours[i];
            result.Add(Window(building, window, meters, rooms, Peak(minutePower, grid.Day, window), 1,
                LocalCalendar.IsOvernight(window, settings.OvernightStartHour, settings.OvernightEndHour), null));
        }

        if (result.Count > 0)
        {
            var hours = result.ToList();
            result.Add(Window(building, grid.Day, meters, rooms, Peak(minutePower, grid.Day, grid.Day), hours.Count, null, BaseLoad(hours)));
        }

        return result;
    }

    static EnergyFigures Window(
        string building, LocalWindow window, List<MeterFigures> meters, List<RoomFigures> rooms,
        double? peak, int hours, bool? overnight, double? baseLoad)
    {
        var inWindow = meters.Where(m => m.Window.Period == window.Period && m.Window.StartUtc == window.StartUtc).ToList();
        var occupied = rooms
            .Where(r => r.Window.Period == window.Period && r.Window.StartUtc == window.StartUtc && r.OccupiedHours is not null)
            .Select(r => r.OccupiedHours!.Value)
            .ToList();
        var kwh = inWindow.Sum(m => m.EnergyKwh);
        return new EnergyFigures(window, building, kwh, peak, kwh / window.Length.TotalHours,
            inWindow.Count, inWindow.Count(m => m.Source == EnergySource.Register), inWindow.Count(m => m.Source == EnergySource.IntegratedPower),
            inWindow.Sum(m => m.Resets), inWindow.Sum(m => m.Gaps),
            occupied.Count > 0 ? occupied.Sum() : null, hours, overnight, LocalCalendar.IsWeekend(window), baseLoad);
    }

    static EnergyFigures Sum(
        string scope, LocalWindow window, IReadOnlyList<EnergyFigures> parts, double? peak, int hours, bool? overnight, double? baseLoad)
    {
        var kwh = parts.Sum(p => p.EnergyKwh);
        var occupied = parts.Where(p => p.OccupiedHours is not null).Select(p => p.OccupiedHours!.Value).ToList();
        return new EnergyFigures(window, scope, kwh, peak, kwh / window.Length.TotalHours,
            parts.Sum(p => p.Meters), parts.Sum(p => p.MetersRegister), parts.Sum(p => p.MetersPower),
            parts.Sum(p => p.Resets), parts.Sum(p => p.Gaps),
            occupied.Count > 0 ? occupied.Sum() : null, hours, overnight, LocalCalendar.IsWeekend(window), baseLoad);
    }

    /// <summary>Mean kW over the overnight hour windows with meter figures: their kWh ÷ their length; null without any.</summary>
    static double? BaseLoad(IReadOnlyList<EnergyFigures> hours)
    {
        var overnight = hours.Where(h => h.Overnight == true && h.Meters > 0).ToList();
        return overnight.Count == 0
            ? null
            : overnight.Sum(h => h.EnergyKwh) / overnight.Sum(h => h.Window.Length.TotalHours);
    }

    /// <summary>The highest known per-minute power of <paramref name="window"/>; null when no minute is known.</summary>
    static double? Peak(double[] minutePower, LocalWindow day, LocalWindow window)
    {
        var from = (int)Math.Max(0, Math.Floor((window.StartUtc - day.StartUtc).TotalMinutes));
        var to = (int)Math.Min(minutePower.Length, Math.Ceiling((window.EndUtc - day.StartUtc).TotalMinutes));
        double? peak = null;
        for (var i = from; i < to; i++)
        {
            if (!double.IsNaN(minutePower[i]))
            {
                peak = Math.Max(peak ?? double.NegativeInfinity, minutePower[i]);
            }
        }

        return peak;
    }

    // ---- per-minute series ----

    static double? KnownSum(List<double[]> series, int i)
    {
        double? sum = null;
        foreach (var s in series)
        {
            if (!double.IsNaN(s[i]))
            {
                sum = (sum ?? 0) + s[i];
            }
        }

        return sum;
    }

    static double? MeanKnown(List<double[]> series, int i)
    {
        double sum = 0;
        var n = 0;
        foreach (var s in series)
        {
            if (!double.IsNaN(s[i]))
            {
                sum += s[i];
                n++;
            }
        }

        return n == 0 ? null : sum / n;
    }

    static double? MaxKnown(List<double[]> series, int i)
    {
        double? max = null;
        foreach (var s in series)
        {
            if (!double.IsNaN(s[i]))
            {
                max = Math.Max(max ?? double.NegativeInfinity, s[i]);
            }
        }

        return max;
    }

    /// <summary>The per-minute sum of the known values of several series (NaN where none is known).</summary>
    static double[] SumKnown(IEnumerable<IReadOnlyList<double>> series, int minutes)
    {
        var sum = new double[minutes];
        Array.Fill(sum, double.NaN);
        foreach (var s in series)
        {
            for (var i = 0; i < Math.Min(minutes, s.Count); i++)
            {
                if (!double.IsNaN(s[i]))
                {
                    sum[i] = double.IsNaN(sum[i]) ? s[i] : sum[i] + s[i];
                }
            }
        }

        return sum;
    }

    /// <summary>The minutes of one local day: their hour windows, local wall-clock times and sample-and-hold values.</summary>
    sealed class MinuteGrid
    {
        readonly long _startMs;
        readonly long _lookbackMs;
        readonly int[] _hourOfMinute;
        readonly long[] _hourStartMs;

        public MinuteGrid(LocalCalendar calendar, LocalWindow day, long lookbackMs)
        {
            Day = day;
            Hours = [.. calendar.Windows(ReportPeriod.Hour, day.StartUtc, day.EndUtc)];
            AllWindows = [.. Hours, day];
            _startMs = day.StartUtc.ToUnixTimeMilliseconds();
            _lookbackMs = lookbackMs;
            Minutes = (int)Math.Ceiling((day.EndUtc - day.StartUtc).TotalMinutes);
            _hourStartMs = [.. Hours.Select(h => h.StartUtc.ToUnixTimeMilliseconds())];
            _hourOfMinute = new int[Minutes];
            for (int i = 0, h = 0; i < Minutes; i++)
            {
                while (h + 1 < Hours.Count && MinuteStartMs(i) >= _hourStartMs[h + 1])
                {
                    h++;
                }

                _hourOfMinute[i] = h;
            }
        }

        public LocalWindow Day { get; }
        public IReadOnlyList<LocalWindow> Hours { get; }
        public IReadOnlyList<LocalWindow> AllWindows { get; }
        public int Minutes { get; }

        public long MinuteStartMs(int i) => _startMs + (i * MinuteMs);

        /// <summary>The local wall-clock time at the start of minute <paramref name="i"/> (hour windows have one offset each).</summary>
        public DateTime LocalTime(int i)
        {
            var hour = Hours[_hourOfMinute[i]];
            return hour.LocalStart.AddMilliseconds(MinuteStartMs(i) - _hourStartMs[_hourOfMinute[i]]);
        }

        /// <summary>The index of the hour window holding <paramref name="timestampMs"/>; null outside the day.</summary>
        public int? HourIndex(long timestampMs)
        {
            if (timestampMs < _startMs || timestampMs >= Day.EndUtc.ToUnixTimeMilliseconds())
            {
                return null;
            }

            var index = Array.BinarySearch(_hourStartMs, timestampMs);
            return index >= 0 ? index : ~index - 1;
        }

        public int? HourIndex(DateTimeOffset start) => HourIndex(start.ToUnixTimeMilliseconds());

        /// <summary>The minutes [from, to) of a window of the day.</summary>
        public (int From, int To) MinuteRange(LocalWindow window) =>
            ((int)Math.Max(0, Math.Floor((window.StartUtc - Day.StartUtc).TotalMinutes)),
             (int)Math.Min(Minutes, Math.Ceiling((window.EndUtc - Day.StartUtc).TotalMinutes)));

        public double[] Unknown()
        {
            var values = new double[Minutes];
            Array.Fill(values, double.NaN);
            return values;
        }

        /// <summary>Sample-and-hold: each minute's value is the last reading at or before its start, if less than Lookback old.</summary>
        public double[] Hold(List<TimedValue>? sorted)
        {
            var values = Unknown();
            if (sorted is null)
            {
                return values;
            }

            var j = 0;
            for (var i = 0; i < Minutes; i++)
            {
                var at = MinuteStartMs(i);
                while (j < sorted.Count && sorted[j].TimestampMs <= at)
                {
                    j++;
                }

                if (j > 0 && at - sorted[j - 1].TimestampMs < _lookbackMs)
                {
                    values[i] = sorted[j - 1].Value;
                }
            }

            return values;
        }

        /// <summary>Each minute's value is the mean power of the register interval (start, end] holding the minute's start.</summary>
        public double[] Intervals(IReadOnlyList<RegisterInterval> intervals)
        {
            var values = Unknown();
            var j = 0;
            for (var i = 0; i < Minutes; i++)
            {
                var at = MinuteStartMs(i);
                while (j < intervals.Count && intervals[j].EndMs <= at)
                {
                    j++;
                }

                if (j < intervals.Count && intervals[j].StartMs <= at && intervals[j].EndMs > intervals[j].StartMs)
                {
                    values[i] = intervals[j].MeanKw;
                }
            }

            return values;
        }
    }
}
