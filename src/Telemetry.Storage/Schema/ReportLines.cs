using InfluxDB.Client.Writes;
using Telemetry.Domain.Reports;
using Telemetry.Domain.Schema;

namespace Telemetry.Storage.Schema;

/// <summary>
/// The hourly and daily report series of docs/schema.md (<c>telemetry_1h/1d</c>, <c>meter_1h/1d</c>,
/// <c>room_1h/1d</c>, <c>building_1h/1d</c>, <c>campus_1h/1d</c>), one method per figures record; the window's period
/// picks the suffix and its UTC start is the point's time, so a recomputed window rewrites the same points. Numeric
/// fields are floats; the meter's <c>source</c> is the only string field; absent figures are left out.
/// </summary>
public static class ReportLines
{
    public const string TelemetryHour = "telemetry_1h";
    public const string TelemetryDay = "telemetry_1d";
    public const string MeterHour = "meter_1h";
    public const string MeterDay = "meter_1d";
    public const string RoomHour = "room_1h";
    public const string RoomDay = "room_1d";
    public const string BuildingHour = "building_1h";
    public const string BuildingDay = "building_1d";
    public const string CampusHour = "campus_1h";
    public const string CampusDay = "campus_1d";

    /// <summary>Every report measurement (all kept in the long-retention destination).</summary>
    public static IReadOnlyList<string> Measurements { get; } =
    [
        TelemetryHour, TelemetryDay, MeterHour, MeterDay, RoomHour, RoomDay, BuildingHour, BuildingDay, CampusHour, CampusDay,
    ];

    /// <summary>The <c>source</c> field of a meter: <c>register</c> or <c>power</c>.</summary>
    public static string SourceName(EnergySource source) => source switch
    {
        EnergySource.Register => "register",
        EnergySource.IntegratedPower => "power",
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "unknown energy source"),
    };

    /// <summary>Every line of one building's day: its sensors, meters, rooms and the building (hour windows and the day).</summary>
    public static IEnumerable<string> Of(DayReportResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        foreach (var figures in result.Sensors)
        {
            yield return Sensor(figures);
        }

        foreach (var figures in result.Meters)
        {
            yield return Meter(figures);
        }

        foreach (var figures in result.Rooms)
        {
            if (Room(figures) is { } line)
            {
                yield return line;
            }
        }

        foreach (var figures in result.BuildingFigures)
        {
            yield return Building(figures);
        }
    }

    /// <summary><c>telemetry_1h</c> / <c>telemetry_1d</c>.</summary>
    public static string Sensor(SensorFigures f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return SeriesLines.SensorWindow(Name(f.Window, TelemetryHour, TelemetryDay), f.Building, f.Room, f.Sensor, f.Kind, f.Metric,
            Time(f.Window), f.Min, f.Max, f.Mean, f.Count, f.Last);
    }

    /// <summary><c>meter_1h</c> / <c>meter_1d</c>.</summary>
    public static string Meter(MeterFigures f)
    {
        ArgumentNullException.ThrowIfNull(f);
        var point = PointData.Measurement(Name(f.Window, MeterHour, MeterDay))
            .Tag(TagKeys.Building, f.Building)
            .Tag(TagKeys.Room, f.Room)
            .Tag(TagKeys.Sensor, f.Sensor)
            .Tag(TagKeys.Kind, f.Kind)
            .Field("energy_kwh", f.EnergyKwh)
            .Field("resets", (double)f.Resets)
            .Field("gaps", (double)f.Gaps)
            .Field("source", SourceName(f.Source))
            .Timestamp(Time(f.Window), LineProtocol.Precision);
        point = SeriesLines.Optional(point, "peak_kw", f.PeakKw);
        return SeriesLines.Line(point);
    }

    /// <summary><c>room_1h</c> / <c>room_1d</c>; null when no figure is known (a point needs a field).</summary>
    public static string? Room(RoomFigures f)
    {
        ArgumentNullException.ThrowIfNull(f);
        var point = PointData.Measurement(Name(f.Window, RoomHour, RoomDay))
            .Tag(TagKeys.Building, f.Building)
            .Tag(TagKeys.Room, f.Room)
            .Tag(TagKeys.RoomType, string.IsNullOrEmpty(f.RoomType) ? null : f.RoomType)
            .Timestamp(Time(f.Window), LineProtocol.Precision);
        point = SeriesLines.Optional(point, "occupied_hours", f.OccupiedHours);
        point = SeriesLines.Optional(point, "people_mean", f.PeopleMean);
        point = SeriesLines.Optional(point, "people_max", f.PeopleMax);
        point = SeriesLines.Optional(point, "timetabled_hours", f.TimetabledHours);
        point = SeriesLines.Optional(point, "utilisation_pct", f.UtilisationPct);
        point = SeriesLines.Optional(point, "comfort_minutes", f.ComfortMinutes);
        point = SeriesLines.Optional(point, "comfort_observed_minutes", f.ComfortObservedMinutes);
        point = SeriesLines.Optional(point, "energy_kwh", f.EnergyKwh);
        return point.HasFields() ? SeriesLines.Line(point) : null;
    }

    /// <summary><c>building_1h</c> / <c>building_1d</c> (the figures' scope is the building id).</summary>
    public static string Building(EnergyFigures f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return Energy(Name(f.Window, BuildingHour, BuildingDay), TagKeys.Building, f);
    }

    /// <summary><c>campus_1h</c> / <c>campus_1d</c> (the figures' scope is the campus id).</summary>
    public static string Campus(EnergyFigures f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return Energy(Name(f.Window, CampusHour, CampusDay), TagKeys.Campus, f);
    }

    static string Energy(string measurement, string tag, EnergyFigures f)
    {
        var point = PointData.Measurement(measurement)
            .Tag(tag, f.Scope)
            .Field("energy_kwh", f.EnergyKwh)
            .Field("mean_kw", f.MeanKw)
            .Field("meters", (double)f.Meters)
            .Field("meters_register", (double)f.MetersRegister)
            .Field("meters_power", (double)f.MetersPower)
            .Field("resets", (double)f.Resets)
            .Field("gaps", (double)f.Gaps)
            .Field("hours", (double)f.Hours)
            .Field("weekend", f.Weekend ? 1.0 : 0.0)
            .Timestamp(Time(f.Window), LineProtocol.Precision);
        point = SeriesLines.Optional(point, "peak_kw", f.PeakKw);
        point = SeriesLines.Optional(point, "occupied_hours", f.OccupiedHours);
        if (f.Window.Period == ReportPeriod.Hour)
        {
            point = point.Field("overnight", f.Overnight == true ? 1.0 : 0.0);
        }
        else
        {
            point = SeriesLines.Optional(point, "base_load_kw", f.BaseLoadKw);
        }

        return SeriesLines.Line(point);
    }

    static string Name(LocalWindow window, string hour, string day) => window.Period == ReportPeriod.Hour ? hour : day;

    static long Time(LocalWindow window) => window.StartUtc.ToUnixTimeMilliseconds();
}
