using Telemetry.Domain.Reports;
using Telemetry.Storage.Schema;

namespace Telemetry.UnitTests.Storage;

/// <summary>
/// Expected lines written by hand from docs/schema.md: tags and fields in key order (as the client writes them),
/// floats for every number, the window's UTC start in milliseconds as the time. 10:00 on 2026-06-10 in Berlin is
/// 08:00Z = 1781078400000; the local day starts at 22:00Z the evening before = 1781042400000.
/// </summary>
public class ReportLinesTests
{
    static readonly LocalCalendar Berlin = LocalCalendar.ForZone("Europe/Berlin");
    static readonly LocalWindow Day = Berlin.Day(new DateOnly(2026, 6, 10));
    static readonly LocalWindow Ten = Berlin.HourOf(new DateTimeOffset(2026, 6, 10, 8, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Sensor_figures_go_to_telemetry_1h_and_1d()
    {
        var hour = new SensorFigures(Ten, "b1", "r 1", "t1", "climate", "temperature", 20, 24, 22.5, 12, 21);
        Assert.Equal(
            @"telemetry_1h,building=b1,kind=climate,metric=temperature,room=r\ 1,sensor=t1 count=12,last=21,max=24,mean=22.5,min=20 1781078400000",
            ReportLines.Sensor(hour));
        Assert.StartsWith("telemetry_1d,", ReportLines.Sensor(hour with { Window = Day }), StringComparison.Ordinal);
        Assert.EndsWith(" 1781042400000", ReportLines.Sensor(hour with { Window = Day }), StringComparison.Ordinal);
    }

    [Fact]
    public void Meter_figures_say_their_source_as_the_only_string_field_and_leave_an_unknown_peak_out()
    {
        var register = new MeterFigures(Ten, "b1", "plant", "m1", "energy-meter", 12.5, 14, 1, 0, EnergySource.Register);
        Assert.Equal(
            "meter_1h,building=b1,kind=energy-meter,room=plant,sensor=m1 energy_kwh=12.5,gaps=0,peak_kw=14,resets=1,source=\"register\" 1781078400000",
            ReportLines.Meter(register));
        var power = register with { Window = Day, PeakKw = null, Source = EnergySource.IntegratedPower, Resets = 0, Gaps = 2 };
        Assert.Equal(
            "meter_1d,building=b1,kind=energy-meter,room=plant,sensor=m1 energy_kwh=12.5,gaps=2,resets=0,source=\"power\" 1781042400000",
            ReportLines.Meter(power));
    }

    [Fact]
    public void Room_figures_leave_unknown_figures_and_an_absent_room_type_out()
    {
        var room = new RoomFigures(Ten, "b1", "r1", "classroom", 0.5, 12.25, 20, 1, 50, 45, 60, null);
        Assert.Equal(
            "room_1h,building=b1,room=r1,room_type=classroom comfort_minutes=45,comfort_observed_minutes=60,occupied_hours=0.5,people_max=20,people_mean=12.25,timetabled_hours=1,utilisation_pct=50 1781078400000",
            ReportLines.Room(room));
        var bare = new RoomFigures(Day, "b1", "r1", null, null, null, null, null, null, null, null, 3.5);
        Assert.Equal("room_1d,building=b1,room=r1 energy_kwh=3.5 1781042400000", ReportLines.Room(bare));
        Assert.Null(ReportLines.Room(bare with { EnergyKwh = null }));
    }

    [Fact]
    public void Building_and_campus_hours_carry_overnight_and_weekend_days_carry_base_load_and_weekend()
    {
        var hour = new EnergyFigures(Ten, "b1", 10, 12, 10, 2, 1, 1, 0, 1, 3.5, 1, false, false, null);
        Assert.Equal(
            "building_1h,building=b1 energy_kwh=10,gaps=1,hours=1,mean_kw=10,meters=2,meters_power=1,meters_register=1,occupied_hours=3.5,overnight=0,peak_kw=12,resets=0,weekend=0 1781078400000",
            ReportLines.Building(hour));
        var day = new EnergyFigures(Day, "campus", 240, null, 10, 2, 1, 1, 1, 0, null, 24, null, true, 4.25);
        Assert.Equal(
            "campus_1d,campus=campus base_load_kw=4.25,energy_kwh=240,gaps=0,hours=24,mean_kw=10,meters=2,meters_power=1,meters_register=1,resets=1,weekend=1 1781042400000",
            ReportLines.Campus(day));
        Assert.StartsWith("campus_1h,campus=campus ", ReportLines.Campus(hour with { Scope = "campus" }), StringComparison.Ordinal);
        Assert.StartsWith("building_1d,building=b1 ", ReportLines.Building(day with { Scope = "b1" }), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_report_measurement_is_kept_in_long_retention()
    {
        Assert.Equal(10, ReportLines.Measurements.Count);
        Assert.All(ReportLines.Measurements, m => Assert.Contains(m, SeriesLines.LongRetention));
        Assert.Equal(
            ["building_1d", "building_1h", "campus_1d", "campus_1h", "meter_1d", "meter_1h", "room_1d", "room_1h", "telemetry_1d", "telemetry_1h"],
            ReportLines.Measurements.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_day_result_gives_the_lines_of_its_sensors_meters_rooms_and_building()
    {
        var result = new DayReportResult(Day, "b1",
            [new SensorFigures(Ten, "b1", "r1", "t1", "climate", "temperature", 20, 24, 22, 2, 21)],
            [new MeterFigures(Day, "b1", "r1", "m1", "power-meter", 5, 1, 0, 0, EnergySource.IntegratedPower)],
            [new RoomFigures(Day, "b1", "r1", null, null, null, null, null, null, null, null, null)],
            [new EnergyFigures(Day, "b1", 5, 1, 0.2, 1, 0, 1, 0, 0, null, 24, null, false, null)],
            []);
        Assert.Equal(["telemetry_1h", "meter_1d", "building_1d"], ReportLines.Of(result).Select(SeriesLines.MeasurementOf));
    }
}
