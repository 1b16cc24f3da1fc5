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

/// <summary>Hourly and daily figures of one local day, computed from raw readings (pure; see docs/reports.md).</summary>
public static class DayReport
{
    /// <summary>The hour windows and the day window of one building's sensors, meters, rooms and the building.</summary>
    public static DayReportResult Compute(DayReportInput input) =>
        throw new NotImplementedException("DayReport.Compute is being built");

    /// <summary>The campus figures (hour windows and the day window) combined from its buildings' results.</summary>
    public static IReadOnlyList<EnergyFigures> Combine(string campusId, LocalWindow day, IReadOnlyList<DayReportResult> buildings, ReportSettings settings) =>
        throw new NotImplementedException("DayReport.Combine is being built");
}
