using Telemetry.Domain.Campus;
using Telemetry.Domain.Reports;

namespace Telemetry.UnitTests.Reports;

/// <summary>
/// <see cref="DayReport"/> against figures worked out by hand in each test (Europe/Berlin: UTC+2 in June, 23-hour day
/// on 2026-03-29). Readings are made by <see cref="Every"/> at local wall-clock times.
/// </summary>
public class DayReportTests
{
    static readonly LocalCalendar Berlin = LocalCalendar.ForZone("Europe/Berlin");
    static readonly DateOnly Wednesday = new(2026, 6, 10);
    static readonly DateOnly Saturday = new(2026, 6, 13);
    static readonly ReportSettings Settings = ReportSettings.Default; // Lookback 15 min, overnight 00–05

    static readonly Dictionary<string, SensorKind> Kinds = new(StringComparer.Ordinal)
    {
        ["power-meter"] = Kind("power-meter", ("power", "kW", RollupRole.Power)),
        ["watt-meter"] = Kind("watt-meter", ("power", "W", RollupRole.Power)),
        ["energy-meter"] = Kind("energy-meter", ("energy", "kWh", RollupRole.Energy)),
        ["occupancy"] = Kind("occupancy", ("people", "count", RollupRole.People)),
        ["climate"] = Kind("climate", ("temperature", "°C", RollupRole.Temperature), ("co2", "ppm", RollupRole.Co2)),
        ["freezer"] = Kind("freezer", ("temperature", "°C", RollupRole.None)),
    };

    static SensorKind Kind(string id, params (string Name, string Unit, RollupRole Role)[] metrics) =>
        SensorKind.Create(id, metrics.ToDictionary(m => m.Name, m => new MetricSpec(m.Unit, m.Role), StringComparer.Ordinal), TimeSpan.FromMinutes(1));

    static CampusRegistry Registry(IReadOnlyDictionary<string, Timetable>? timetables, params Building[] buildings) =>
        new(new CampusInfo("campus", "Campus", "Europe/Berlin"), UnregisteredPolicy.Accept, ComfortBands.Default, Kinds, buildings, timetables);

    static Building OneRoom(string building, string roomType, params Sensor[] sensors) =>
        new(building, building, [new Room("r1", "Room 1", roomType, 30, sensors)]);

    /// <summary>A campus local wall-clock time of <paramref name="date"/> (minutes may run past midnight or be negative).</summary>
    static DateTimeOffset Local(DateOnly date, double hours) =>
        Berlin.Day(date).StartUtc.AddHours(hours);

    /// <summary>Readings of one metric every <paramref name="step"/> from <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive).</summary>
    static IEnumerable<RawReading> Every(DateTimeOffset from, DateTimeOffset to, TimeSpan step, string metric, Func<DateTimeOffset, double> value)
    {
        for (var t = from; t < to; t += step)
        {
            yield return new RawReading(t.ToUnixTimeMilliseconds(), new Dictionary<string, double> { [metric] = value(t) });
        }
    }

    static RawReading At(DateTimeOffset t, string metric, double value) =>
        new(t.ToUnixTimeMilliseconds(), new Dictionary<string, double> { [metric] = value });

    static DayReportResult Compute(DateOnly date, CampusRegistry registry, Building building, Dictionary<string, IReadOnlyList<RawReading>> readings) =>
        DayReport.Compute(new DayReportInput(Berlin, Berlin.Day(date), registry, building, readings, Settings));

    /// <summary>Power every minute over the whole day and the Lookback either side.</summary>
    static IReadOnlyList<RawReading> PowerAllDay(DateOnly date, Func<DateTimeOffset, double> kw)
    {
        var day = Berlin.Day(date);
        return [.. Every(day.StartUtc.AddMinutes(-15), day.EndUtc.AddMinutes(15), TimeSpan.FromMinutes(1), "power", kw)];
    }

    static EnergyFigures DayFigures(DayReportResult result) => Assert.Single(result.BuildingFigures, f => f.Window.Period == ReportPeriod.Day);

    [Fact]
    public void A_day_of_constant_10_kW_is_240_kWh_and_the_23_hour_spring_day_is_230_kWh()
    {
        var building = OneRoom("b1", "plant", new Sensor("m1", "power-meter"));
        var registry = Registry(null, building);

        var june = Compute(Wednesday, registry, building, new() { ["m1"] = PowerAllDay(Wednesday, _ => 10) });
        var day = DayFigures(june);
        Assert.Equal(240, day.EnergyKwh, 9);                  // 24 h × 10 kW
        Assert.Equal(10, day.PeakKw!.Value, 9);
        Assert.Equal(10, day.MeanKw, 9);
        Assert.Equal(24, day.Hours);
        Assert.Equal((1, 0, 1), (day.Meters, day.MetersRegister, day.MetersPower));
        Assert.Equal(10, day.BaseLoadKw!.Value, 9);           // 00:00–05:00 at 10 kW
        var hours = june.BuildingFigures.Where(f => f.Window.Period == ReportPeriod.Hour).ToList();
        Assert.Equal(24, hours.Count);
        Assert.All(hours, h => Assert.Equal(10, h.EnergyKwh, 9));
        Assert.Equal([true, true, true, true, true, false], hours.Take(6).Select(h => h.Overnight == true));
        var meterDay = Assert.Single(june.Meters, m => m.Window.Period == ReportPeriod.Day);
        Assert.Equal((240.0, EnergySource.IntegratedPower, 0), (Math.Round(meterDay.EnergyKwh, 9), meterDay.Source, meterDay.Gaps));
        Assert.Equal(1440, june.MinutePowerKw.Count);

        var spring = new DateOnly(2026, 3, 29);
        var dst = Compute(spring, registry, building, new() { ["m1"] = PowerAllDay(spring, _ => 10) });
        Assert.Equal(230, DayFigures(dst).EnergyKwh, 9);      // 02:00 does not exist: 23 h × 10 kW
        Assert.Equal(23, DayFigures(dst).Hours);
        Assert.Equal(23, dst.BuildingFigures.Count(f => f.Window.Period == ReportPeriod.Hour));
        Assert.Equal(1380, dst.MinutePowerKw.Count);
    }

    [Fact]
    public void A_watt_meter_is_figured_in_kW()
    {
        var building = OneRoom("b1", "plant", new Sensor("m1", "watt-meter"));
        var result = Compute(Wednesday, Registry(null, building), building, new() { ["m1"] = PowerAllDay(Wednesday, _ => 2500) });
        Assert.Equal(60, DayFigures(result).EnergyKwh, 9);    // 2.5 kW × 24 h
        Assert.Equal(2.5, DayFigures(result).PeakKw!.Value, 9);
    }

    [Fact]
    public void A_register_interval_across_midnight_is_shared_in_proportion_to_time()
    {
        // Register every 20 minutes at :10, :30, :50, rising 4 kWh each (12 kW). The interval 23:50–00:10 on either
        // side of the day gives the day 10 of its 20 minutes: 2 kWh at each end; the day holds 24 h × 12 kW = 288 kWh.
        var building = OneRoom("b1", "plant", new Sensor("e1", "energy-meter"));
        var start = Local(Wednesday, -10.0 / 60);                  // 23:50 the evening before
        var readings = Every(start, Local(Wednesday, 24 + (11.0 / 60)), TimeSpan.FromMinutes(20), "energy",
            t => 1000 + (4 * (t - start).TotalMinutes / 20)).ToList();
        var result = Compute(Wednesday, Registry(null, building), building, new() { ["e1"] = readings });

        var day = DayFigures(result);
        Assert.Equal(288, day.EnergyKwh, 9);
        Assert.Equal((1, 1, 0), (day.Meters, day.MetersRegister, day.MetersPower));
        var first = result.Meters.First(m => m.Window.Period == ReportPeriod.Hour);
        Assert.Equal(Berlin.Day(Wednesday).StartUtc, first.Window.StartUtc);
        Assert.Equal(12, first.EnergyKwh, 9);                     // 2 (shared) + 4 + 4 + 2 (shared with 00:50–01:10)
        Assert.Equal(EnergySource.Register, first.Source);
        Assert.Equal(12, day.PeakKw!.Value, 9);                   // register-derived mean power
    }

    [Fact]
    public void A_register_reset_gives_no_negative_and_no_double_energy()
    {
        var building = OneRoom("b1", "plant", new Sensor("e1", "energy-meter"));
        RawReading[] readings =
        [
            At(Local(Wednesday, 8), "energy", 5000), At(Local(Wednesday, 9), "energy", 5010),
            At(Local(Wednesday, 10), "energy", 3), At(Local(Wednesday, 11), "energy", 9),
        ];
        var result = Compute(Wednesday, Registry(null, building), building, new() { ["e1"] = readings });

        var day = DayFigures(result);
        Assert.Equal(10 + 3 + 6, day.EnergyKwh, 9);               // 5000→5010, reset counted from 0 to 3, 3→9
        Assert.Equal(1, day.Resets);
        var hours = result.Meters.Where(m => m.Window.Period == ReportPeriod.Hour).ToList();
        Assert.All(hours, h => Assert.InRange(h.EnergyKwh, 0, 10));
        Assert.Equal(19, hours.Sum(h => h.EnergyKwh), 9);
    }

    [Fact]
    public void A_recorded_replacement_starts_the_new_register_at_its_recorded_value()
    {
        var sensor = new Sensor("e1", "energy-meter")
        {
            Replacements = [new MeterReplacement(Local(Wednesday, 9.5).ToUnixTimeMilliseconds(), 200)],
        };
        var building = OneRoom("b1", "plant", sensor);
        RawReading[] readings =
        [
            At(Local(Wednesday, 8), "energy", 100), At(Local(Wednesday, 9), "energy", 110),
            At(Local(Wednesday, 10), "energy", 204), At(Local(Wednesday, 11), "energy", 210),
        ];
        var result = Compute(Wednesday, Registry(null, building), building, new() { ["e1"] = readings });
        var day = DayFigures(result);
        Assert.Equal(10 + 4 + 6, day.EnergyKwh, 9);               // old meter 100→110, new one 200→204→210
        Assert.Equal(0, day.Resets);
    }

    [Fact]
    public void Occupied_hours_and_people_follow_a_step_pattern_held_for_at_most_the_lookback()
    {
        // 10 people 09:00–11:00, nobody else; readings every 5 minutes from 00:00 to 20:00 (last at 20:00).
        var building = OneRoom("b1", "office", new Sensor("o1", "occupancy"));
        var readings = Every(Local(Wednesday, 0), Local(Wednesday, 20.01), TimeSpan.FromMinutes(5), "people",
            t => t >= Local(Wednesday, 9) && t < Local(Wednesday, 11) ? 10 : 0).ToList();
        var result = Compute(Wednesday, Registry(null, building), building, new() { ["o1"] = readings });

        var day = Assert.Single(result.Rooms, r => r.Window.Period == ReportPeriod.Day);
        Assert.Equal(2, day.OccupiedHours!.Value, 9);
        Assert.Equal(10, day.PeopleMax);
        // Observed: 00:00 to 20:14 (the 20:00 reading holds 15 minutes) = 1215 minutes, 1200 person-minutes.
        Assert.Equal(1200.0 / 1215, day.PeopleMean!.Value, 9);
        Assert.Null(day.TimetabledHours);                         // offices have no timetable in this registry
        Assert.Null(day.UtilisationPct);
        Assert.Null(day.EnergyKwh);
        var nine = Assert.Single(result.Rooms, r => r.Window.Period == ReportPeriod.Hour && r.Window.LocalStart.Hour == 9);
        Assert.Equal((1.0, 10.0), (nine.OccupiedHours!.Value, nine.PeopleMean!.Value));
        Assert.DoesNotContain(result.Rooms, r => r.Window.Period == ReportPeriod.Hour && r.Window.LocalStart.Hour == 21);
        Assert.Equal(2, DayFigures(result).OccupiedHours!.Value, 9);
    }

    [Fact]
    public void Utilisation_is_occupied_time_within_the_timetable_over_timetabled_time()
    {
        // Timetabled 08:00–12:00 on weekdays; people 09:00–11:00 (inside) and 13:00–14:00 (outside).
        Timetable classroom = new([new TimetableSlot(
            new HashSet<DayOfWeek> { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday },
            new TimeOnly(8, 0), new TimeOnly(12, 0))]);
        var timetables = new Dictionary<string, Timetable>(StringComparer.Ordinal) { ["classroom"] = classroom };
        var building = OneRoom("b1", "classroom", new Sensor("o1", "occupancy"));
        bool Occupied(DateTimeOffset t) =>
            (t >= Local(Wednesday, 9) && t < Local(Wednesday, 11)) || (t >= Local(Wednesday, 13) && t < Local(Wednesday, 14));
        var readings = Every(Local(Wednesday, -0.25), Local(Wednesday, 24), TimeSpan.FromMinutes(1), "people", t => Occupied(t) ? 25 : 0).ToList();
        var registry = Registry(timetables, building);

        var result = Compute(Wednesday, registry, building, new() { ["o1"] = readings });
        var day = Assert.Single(result.Rooms, r => r.Window.Period == ReportPeriod.Day);
        Assert.Equal(3, day.OccupiedHours!.Value, 9);
        Assert.Equal(4, day.TimetabledHours!.Value, 9);
        Assert.Equal(50, day.UtilisationPct!.Value, 9);           // 2 h of 4 timetabled hours
        Assert.Equal("classroom", day.RoomType);
        RoomFigures Hour(int h) => Assert.Single(result.Rooms, r => r.Window.Period == ReportPeriod.Hour && r.Window.LocalStart.Hour == h);
        Assert.Equal(0, Hour(8).UtilisationPct);
        Assert.Equal(100, Hour(9).UtilisationPct);
        Assert.Null(Hour(13).UtilisationPct);                     // not timetabled
        Assert.Equal(0, Hour(13).TimetabledHours);

        var saturday = Compute(Saturday, registry, building, new()
        {
            ["o1"] = [.. Every(Local(Saturday, 0), Local(Saturday, 24), TimeSpan.FromMinutes(1), "people", _ => 5)],
        });
        var weekend = Assert.Single(saturday.Rooms, r => r.Window.Period == ReportPeriod.Day);
        Assert.Equal((0.0, 24.0), (weekend.TimetabledHours!.Value, weekend.OccupiedHours!.Value));
        Assert.Null(weekend.UtilisationPct);
        Assert.Equal(240, classroom.TimetabledMinutes(Berlin, Berlin.Day(Wednesday)));
        Assert.Equal(0, classroom.TimetabledMinutes(Berlin, Berlin.Day(Saturday)));
    }

    [Fact]
    public void Comfort_minutes_judge_the_known_air_figures_each_minute()
    {
        // Readings every 5 minutes 00:00–17:55: 22 °C until 12:00 then 26 °C (band 20–24); CO2 1200 ppm 06:00–07:00
        // (max 1000), else 600. A freezer's temperature (rollup none) must not count as room air.
        var building = OneRoom("b1", "office", new Sensor("c1", "climate"), new Sensor("f1", "freezer"));
        var from = Local(Wednesday, 0);
        var to = Local(Wednesday, 18);
        var step = TimeSpan.FromMinutes(5);
        var climate = Every(from, to, step, "temperature", t => t < Local(Wednesday, 12) ? 22 : 26)
            .Concat(Every(from, to, step, "co2", t => t >= Local(Wednesday, 6) && t < Local(Wednesday, 7) ? 1200 : 600))
            .ToList();
        var freezer = Every(from, Local(Wednesday, 24), step, "temperature", _ => -18).ToList();
        var result = Compute(Wednesday, Registry(null, building), building, new() { ["c1"] = climate, ["f1"] = freezer });

        var day = Assert.Single(result.Rooms, r => r.Window.Period == ReportPeriod.Day);
        Assert.Equal(18 * 60 + 10, day.ComfortObservedMinutes);   // the 17:55 readings hold to 18:09
        Assert.Equal((12 * 60) - 60, day.ComfortMinutes);         // 00:00–12:00 less the CO2 hour
        Assert.Null(day.OccupiedHours);                           // no occupancy sensor
        var co2Hour = Assert.Single(result.Rooms, r => r.Window.Period == ReportPeriod.Hour && r.Window.LocalStart.Hour == 6);
        Assert.Equal((0.0, 60.0), (co2Hour.ComfortMinutes!.Value, co2Hour.ComfortObservedMinutes!.Value));
    }

    [Fact]
    public void Sensor_figures_cover_the_window_and_the_later_duplicate_wins()
    {
        var building = OneRoom("b1", "office", new Sensor("c1", "climate"));
        RawReading[] readings =
        [
            At(Local(Wednesday, -0.1), "temperature", 99),        // context before the day: not a figure
            At(Local(Wednesday, 10), "temperature", 20),
            At(Local(Wednesday, 10.5), "temperature", 30),
            At(Local(Wednesday, 10.5), "temperature", 24),        // the same instant again: replaces 30
            At(Local(Wednesday, 11), "temperature", 21),
        ];
        var result = Compute(Wednesday, Registry(null, building), building, new() { ["c1"] = readings });
        var ten = Assert.Single(result.Sensors, s => s.Window.Period == ReportPeriod.Hour && s.Window.LocalStart.Hour == 10);
        Assert.Equal(("b1", "r1", "c1", "climate", "temperature"), (ten.Building, ten.Room, ten.Sensor, ten.Kind, ten.Metric));
        Assert.Equal((20.0, 24.0, 22.0, 2L, 24.0), (ten.Min, ten.Max, ten.Mean, ten.Count, ten.Last));
        var day = Assert.Single(result.Sensors, s => s.Window.Period == ReportPeriod.Day);
        Assert.Equal((20.0, 24.0, 65.0 / 3, 3L, 21.0), (day.Min, day.Max, day.Mean, day.Count, day.Last));
        Assert.Equal(3, result.Sensors.Count);                    // hours 10 and 11, and the day
    }

    [Fact]
    public void Base_load_is_the_mean_power_of_the_overnight_hours_and_weekend_days_are_flagged()
    {
        // 4 kW from 00:00 to 05:00, 20 kW otherwise, read every minute. The 04:59–05:00 minute rises linearly to
        // 20 kW (trapezoid): overnight energy = 299 min × 4 kW + 1 min × 12 kW = 19.9333… + 0.2 kWh.
        var building = OneRoom("b1", "plant", new Sensor("m1", "power-meter"));
        var readings = PowerAllDay(Saturday, t => t >= Local(Saturday, 0) && t < Local(Saturday, 5) ? 4 : 20);
        var result = Compute(Saturday, Registry(null, building), building, new() { ["m1"] = readings });

        var day = DayFigures(result);
        var overnightKwh = (299 * 4 / 60.0) + (12 / 60.0);
        Assert.Equal(overnightKwh / 5, day.BaseLoadKw!.Value, 9);
        Assert.Equal(overnightKwh + (19 * 20), day.EnergyKwh, 9);
        Assert.True(day.Weekend);
        Assert.All(result.BuildingFigures, f => Assert.True(f.Weekend));
        Assert.Equal(20, day.PeakKw!.Value, 9);
        Assert.False(DayFigures(Compute(Wednesday, Registry(null, building), building,
            new() { ["m1"] = PowerAllDay(Wednesday, _ => 1) })).Weekend);
    }

    [Fact]
    public void Power_gaps_longer_than_the_lookback_are_not_integrated_and_leave_minutes_unknown()
    {
        // 10 kW every minute, but nothing from 12:00 to 13:00 (the 11:59 reading is followed by 13:00).
        var building = OneRoom("b1", "plant", new Sensor("m1", "power-meter"));
        var readings = PowerAllDay(Wednesday, _ => 10)
            .Where(r => r.TimestampMs < Local(Wednesday, 12).ToUnixTimeMilliseconds() || r.TimestampMs >= Local(Wednesday, 13).ToUnixTimeMilliseconds())
            .ToList();
        var result = Compute(Wednesday, Registry(null, building), building, new() { ["m1"] = readings });
        var day = DayFigures(result);
        Assert.Equal(240 - (10 * 61 / 60.0), day.EnergyKwh, 9);    // 11:59–13:00 is not integrated
        Assert.Equal(1, day.Gaps);
        Assert.Equal(23, day.Hours);                               // the 12:00 hour has no reading
        // 11:59 holds to 12:13; 12:14–12:59 are unknown.
        var noon = (int)(Local(Wednesday, 12) - Local(Wednesday, 0)).TotalMinutes;
        Assert.Equal(10, result.MinutePowerKw[noon + 13]);
        Assert.True(double.IsNaN(result.MinutePowerKw[noon + 14]));
    }

    [Fact]
    public void The_campus_peak_is_the_peak_of_the_summed_power_not_the_sum_of_peaks()
    {
        // Building A draws 10 kW 08:00–09:00, B 10 kW 09:00–10:00, both 2 kW otherwise: each peaks at 10 kW,
        // the campus never draws more than 12 kW.
        var a = OneRoom("a", "plant", new Sensor("ma", "power-meter"));
        var b = OneRoom("b", "plant", new Sensor("mb", "power-meter"));
        var registry = Registry(null, a, b);
        bool Between(DateTimeOffset t, double from, double to) => t >= Local(Wednesday, from) && t < Local(Wednesday, to);
        var ra = Compute(Wednesday, registry, a, new() { ["ma"] = PowerAllDay(Wednesday, t => Between(t, 8, 9) ? 10 : 2) });
        var rb = Compute(Wednesday, registry, b, new() { ["mb"] = PowerAllDay(Wednesday, t => Between(t, 9, 10) ? 10 : 2) });
        Assert.Equal(10, DayFigures(ra).PeakKw);
        Assert.Equal(10, DayFigures(rb).PeakKw);

        var campus = DayReport.Combine("campus", Berlin.Day(Wednesday), [ra, rb], Settings);
        var day = Assert.Single(campus, f => f.Window.Period == ReportPeriod.Day);
        Assert.Equal("campus", day.Scope);
        Assert.Equal(12, day.PeakKw);
        Assert.Equal(DayFigures(ra).EnergyKwh + DayFigures(rb).EnergyKwh, day.EnergyKwh, 9);
        Assert.Equal((2, 0, 2, 24), (day.Meters, day.MetersRegister, day.MetersPower, day.Hours));
        Assert.Equal(4, day.BaseLoadKw!.Value, 9);                  // 2 kW + 2 kW overnight
        Assert.Equal(24, campus.Count(f => f.Window.Period == ReportPeriod.Hour));
        var eight = Assert.Single(campus, f => f.Window.Period == ReportPeriod.Hour && f.Window.LocalStart.Hour == 8);
        Assert.Equal(12, eight.PeakKw);
        Assert.False(eight.Overnight);
        Assert.False(eight.Weekend);
    }

    [Fact]
    public void The_25_hour_autumn_day_has_25_hour_windows_and_250_kWh_and_its_timetable_counts_the_repeated_hour()
    {
        var autumn = new DateOnly(2026, 10, 25); // a Sunday: 02:00–03:00 happens twice
        var building = OneRoom("b1", "study", new Sensor("m1", "power-meter"));
        var daily = new Timetable([new TimetableSlot(Enum.GetValues<DayOfWeek>().ToHashSet(), new TimeOnly(2, 0), new TimeOnly(4, 0))]);
        var registry = Registry(new Dictionary<string, Timetable>(StringComparer.Ordinal) { ["study"] = daily }, building);
        var result = Compute(autumn, registry, building, new() { ["m1"] = PowerAllDay(autumn, _ => 10) });
        Assert.Equal(250, DayFigures(result).EnergyKwh, 9);
        Assert.Equal(25, DayFigures(result).Hours);
        Assert.Equal(1500, result.MinutePowerKw.Count);
        // Overnight 00:00–05:00 local is six hour windows on this day (02:00 twice): 60 kWh over 6 h.
        Assert.Equal(6, result.BuildingFigures.Count(f => f.Overnight == true));
        Assert.Equal(10, DayFigures(result).BaseLoadKw!.Value, 9);
        // 02:00–04:00 local lasts three real hours on this day.
        Assert.Equal(180, daily.TimetabledMinutes(Berlin, Berlin.Day(autumn)));
        Assert.Equal(60, daily.TimetabledMinutes(Berlin, Berlin.Day(new DateOnly(2026, 3, 29)))); // 02:00–03:00 skipped
    }

    [Fact]
    public void The_figures_do_not_depend_on_the_order_of_the_readings()
    {
        var building = new Building("b1", "b1",
        [
            new Room("r1", "r1", "office", 10, [new Sensor("o1", "occupancy"), new Sensor("c1", "climate")]),
            new Room("plant", "plant", "plant", 0, [new Sensor("e1", "energy-meter"), new Sensor("m1", "power-meter")]),
        ]);
        var registry = Registry(null, building);
        var start = Local(Wednesday, -0.25);
        var end = Local(Wednesday, 24.25);
        var step = TimeSpan.FromMinutes(3);
        var readings = new Dictionary<string, IReadOnlyList<RawReading>>
        {
            ["o1"] = [.. Every(start, end, step, "people", t => t.Hour % 3)],
            ["c1"] = [.. Every(start, end, step, "temperature", t => 19 + (t.Minute % 7)).Concat(Every(start, end, step, "co2", t => 500 + (10 * t.Minute)))],
            ["e1"] = [.. Every(start, end, step, "energy", t => (t - start).TotalHours * 7)],
            ["m1"] = [.. Every(start, end, step, "power", t => 3 + (t.Hour % 5))],
        };
        var shuffled = readings.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<RawReading>)[.. kv.Value.OrderBy(r => (r.TimestampMs * 7919) % 1009)]);

        var a = Compute(Wednesday, registry, building, readings);
        var b = Compute(Wednesday, registry, building, shuffled);
        Assert.Equal(a.Sensors, b.Sensors);
        Assert.Equal(a.Rooms, b.Rooms);
        Assert.Equal(a.BuildingFigures.Count, b.BuildingFigures.Count);
        Assert.Equal(a.Meters.Count, b.Meters.Count);
        for (var i = 0; i < a.Meters.Count; i++)
        {
            Assert.Equal(a.Meters[i].EnergyKwh, b.Meters[i].EnergyKwh, 9);
        }
        Assert.Equal(7 * 24, DayFigures(a).EnergyKwh - a.Meters.Where(m => m.Sensor == "m1" && m.Window.Period == ReportPeriod.Day).Sum(m => m.EnergyKwh), 6);
        Assert.Equal((2, 1, 1), (DayFigures(a).Meters, DayFigures(a).MetersRegister, DayFigures(a).MetersPower));
    }
}
