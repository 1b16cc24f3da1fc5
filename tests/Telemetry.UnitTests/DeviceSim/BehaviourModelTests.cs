using Telemetry.Domain.Campus;
using Telemetry.DeviceSim.Behaviours;
using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Devices;
using Telemetry.DeviceSim.Scenarios;
using Timetable = Telemetry.DeviceSim.Scenarios.Timetable;

namespace Telemetry.UnitTests.DeviceSim;

public sealed class BehaviourModelTests
{
    // 2026-03-02 is a Monday; the offset stands for campus local time.
    static readonly DateTimeOffset Monday = new(2026, 3, 2, 0, 0, 0, TimeSpan.FromHours(1));
    static readonly TimetablePeriod[] Lecture = [Period("mon-fri", "08:15", "09:45", 0.8)];

    static TimetablePeriod Period(string days, string from, string to, double occupancy)
    {
        Assert.True(TimetableSlot.TryParseDays(days, out var set));
        Assert.True(TimetableSlot.TryParseTime(from, out var f));
        Assert.True(TimetableSlot.TryParseTime(to, out var t));
        return new TimetablePeriod(set, f, t, occupancy);
    }

    static DateTimeOffset At(DateTimeOffset day, string time) => day + TimeOnly.Parse(time, System.Globalization.CultureInfo.InvariantCulture).ToTimeSpan();

    [Fact]
    public void Occupancy_follows_the_timetable_with_ramps_and_is_empty_outside_periods_and_at_weekends()
    {
        var room = new RoomModel(100, Lecture, noiseKey: 7);

        var during = room.PeopleAt(At(Monday, "09:00"));
        Assert.InRange(during, 55, 100);                               // 100 × 0.8 × (0.8..1.15) × (0.92..1.08)
        Assert.Equal(0, room.PeopleAt(At(Monday, "07:00")));
        Assert.Equal(0, room.PeopleAt(At(Monday, "10:00")));           // everyone left within 7 minutes after the end
        Assert.Equal(0, room.PeopleAt(At(Monday.AddDays(5), "09:00"))); // Saturday
        var arriving = room.PeopleAt(At(Monday, "08:08"));
        Assert.InRange(arriving, 1, during - 1);                       // half-way through the arrival ramp
        var leaving = room.PeopleAt(At(Monday, "09:47"));
        Assert.InRange(leaving, 1, during - 1);
        Assert.True(room.VentilationOn(At(Monday, "07:30")));
        Assert.False(room.VentilationOn(At(Monday, "10:30")));
    }

    [Fact]
    public void Library_opening_hours_keep_people_in_all_day_and_days_parse()
    {
        var room = new RoomModel(50, [Period("mon-fri", "08:00", "22:00", 0.5), Period("sat", "10:00", "18:00", 0.3)], noiseKey: 3);
        Assert.All(new[] { "09:00", "13:00", "21:00" }, time => Assert.InRange(room.PeopleAt(At(Monday, time)), 15, 35));
        Assert.InRange(room.PeopleAt(At(Monday.AddDays(5), "12:00")), 8, 20);
        Assert.Equal(0, room.PeopleAt(At(Monday.AddDays(6), "12:00")));
        Assert.True(TimetableSlot.TryParseDays("mon,wed,fri", out var days));
        Assert.Equal([DayOfWeek.Monday, DayOfWeek.Wednesday, DayOfWeek.Friday], days.Order());
        Assert.True(TimetableSlot.TryParseDays("fri-mon", out var wrap));
        Assert.Equal(4, wrap.Count);
        Assert.False(TimetableSlot.TryParseDays("someday", out _));
    }

    [Fact]
    public void Co2_rises_while_people_are_in_and_decays_towards_outdoor_air_after_they_leave()
    {
        var room = new RoomModel(40, [Period("mon-fri", "08:00", "12:00", 1.0)], noiseKey: 1);
        var co2 = new Co2Behaviour(room, new Random(1));
        double Ppm(string time) => co2.Sample(At(Monday, time))[MetricNames.Co2];

        var before = Ppm("07:00");
        var early = Ppm("07:52");
        var full = Ppm("11:30");
        Assert.InRange(before, 390, 460);
        Assert.True(full > early + 300, $"CO2 {early} → {full} while the room was full");
        Assert.InRange(full, 1100, 1800);                               // a full classroom, ventilated
        var after = Ppm("13:00");
        var later = Ppm("18:00");
        Assert.True(after < full - 300, $"CO2 {full} → {after} an hour after people left");
        Assert.InRange(later, 390, after);
        Assert.True(Co2Behaviour.SteadyStatePpm(10, 200, ventilated: false) > Co2Behaviour.SteadyStatePpm(10, 200, ventilated: true));
    }

    [Fact]
    public void Freezer_cycles_its_compressor_between_the_hysteresis_bounds()
    {
        var freezer = new FreezerBehaviour(new Random(5), SensorFaults.None);
        var readings = Enumerable.Range(0, 6 * 120).Select(i => freezer.Sample(Monday.AddSeconds(30 * i))).ToList();

        Assert.All(readings, r => Assert.InRange(r[MetricNames.Temperature], -22.4, -17.6));
        Assert.Contains(readings, r => r[MetricNames.Compressor] == 1);
        Assert.Contains(readings, r => r[MetricNames.Compressor] == 0);
        var starts = readings.Zip(readings.Skip(1)).Count(p => p.First[MetricNames.Compressor] == 0 && p.Second[MetricNames.Compressor] == 1);
        Assert.InRange(starts, 3, 12);                                  // a cycle of roughly an hour
        Assert.All(readings, r => Assert.Equal(0, r[MetricNames.Fault]));
    }

    [Fact]
    public void A_failed_freezer_stops_its_compressor_and_warms_about_a_third_of_a_degree_a_minute_up_to_ambient()
    {
        var failure = new FaultWindow(FaultType.FreezerFailure, Monday.AddHours(1), Monday.AddHours(4), 0);
        var freezer = new FreezerBehaviour(new Random(5), new SensorFaults([failure]));
        var readings = Enumerable.Range(0, 5 * 120).Select(i => (At: Monday.AddSeconds(30 * i), Values: freezer.Sample(Monday.AddSeconds(30 * i)))).ToList();

        var atStart = readings.Single(r => r.At == failure.Start).Values[MetricNames.Temperature];
        var after30 = readings.Single(r => r.At == failure.Start.AddMinutes(30)).Values[MetricNames.Temperature];
        Assert.InRange(after30 - atStart, 7.5, 10.5);
        Assert.All(readings.Where(r => failure.Covers(r.At)), r => Assert.Equal(0, r.Values[MetricNames.Compressor]));
        Assert.All(readings, r => Assert.True(r.Values[MetricNames.Temperature] <= FreezerBehaviour.AmbientC + 0.3));
        Assert.InRange(readings.Single(r => r.At == failure.End.AddMinutes(-1)).Values[MetricNames.Temperature], 20, 21.3);
        Assert.Equal(1, readings.Single(r => r.At == failure.End.AddMinutes(1)).Values[MetricNames.Compressor]);
    }

    [Fact]
    public void Meter_energy_never_decreases_and_mains_is_the_sum_of_its_loads()
    {
        var rooms = Enumerable.Range(0, 5).Select(i => new RoomModel(60, Timetable.Default.For("classroom"), i)).ToList();
        var building = new BuildingModel(rooms, 9);
        var meter = new MeterBehaviour(building.MainsKw, 1000, SensorFaults.None);
        var readings = Enumerable.Range(0, 24 * 60).Select(i => meter.Sample(Monday.AddMinutes(i))).ToList();

        Assert.All(readings.Zip(readings.Skip(1)), p => Assert.True(p.Second[MetricNames.Energy] >= p.First[MetricNames.Energy]));
        Assert.True(readings[^1][MetricNames.Energy] > 1000 + 24 * 20, "a day at 20 kW or more");
        var noon = At(Monday, "10:30");
        Assert.Equal(building.OtherKw(noon) + building.LightingKw(noon) + building.HvacKw(noon), building.MainsKw(noon), 6);
        Assert.True(building.LightingKw(noon) > building.LightingKw(At(Monday, "03:00")));
        Assert.True(building.HvacKw(noon) > building.HvacKw(At(Monday, "03:00")));
    }

    [Fact]
    public void A_drifting_meter_over_reads_more_the_longer_the_drift_lasts()
    {
        static double EnergyAfter(SensorFaults faults)
        {
            var meter = new MeterBehaviour(_ => 100, 0, faults);
            double last = 0;
            for (var i = 0; i <= 240; i++)
            {
                last = meter.Sample(Monday.AddMinutes(i))[MetricNames.Energy];
            }

            return last;
        }

        var honest = EnergyAfter(SensorFaults.None);
        var drifting = EnergyAfter(new SensorFaults([new FaultWindow(FaultType.MeterDrift, Monday.AddHours(2), Monday.AddHours(4), 10)]));
        Assert.Equal(400, honest, 1);
        Assert.Equal(400 + 100 * 0.10 * 2 * 2 / 2, drifting, 0);        // +10 %/h over two hours: 20 kWh extra
    }

    [Fact]
    public void Behaviours_are_deterministic_for_a_seed_and_report_exactly_their_kinds_metrics()
    {
        var layout = CampusLayout.Generate(1, 2, labsPerBuilding: 1);
        IReadOnlyDictionary<string, double>[] Run(int seed)
        {
            var behaviours = BehaviourFactory.Create(layout, seed, Timetable.Default);
            return [.. behaviours.Select(b => b.Sample(At(Monday, "10:00")))];
        }

        var first = Run(42);
        var again = Run(42);
        Assert.Equal(first.Select(m => string.Join(',', m.Select(p => $"{p.Key}={p.Value}"))), again.Select(m => string.Join(',', m.Select(p => $"{p.Key}={p.Value}"))));
        for (var i = 0; i < layout.Sensors.Count; i++)
        {
            Assert.Equal(layout.Registry.Kinds[layout.Sensors[i].Kind].Metrics.Keys.Order(StringComparer.Ordinal), first[i].Keys.Order(StringComparer.Ordinal));
        }

        var temp = first[layout.Sensors.ToList().FindIndex(s => s.Kind == DemoCampus.TemperatureKind)];
        Assert.InRange(temp[MetricNames.Battery], 70, 100);
        Assert.InRange(temp[MetricNames.Rssi], -115, -60);
        var hood = first[layout.Sensors.ToList().FindIndex(s => s.Model == SensorModel.FumeHood)];
        Assert.InRange(hood[MetricNames.Airflow], 0.4, 0.6);
    }
}
