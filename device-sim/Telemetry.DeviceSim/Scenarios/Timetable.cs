using System.Globalization;

namespace Telemetry.DeviceSim.Scenarios;

/// <summary>
/// One period of a room type's timetable: on <paramref name="Days"/>, from <paramref name="From"/> to
/// <paramref name="To"/> (campus local time, same day), rooms of the type are filled to <paramref name="Occupancy"/>
/// of their capacity (0–1). Days and times are written in the registry's timetable grammar
/// (<see cref="Telemetry.Domain.Campus.TimetableSlot"/>).
/// </summary>
public sealed record TimetablePeriod(IReadOnlySet<DayOfWeek> Days, TimeOnly From, TimeOnly To, double Occupancy);

/// <summary>
/// When rooms are used, by room type (free text as in the registry: classroom, lab, library, …). Room types without
/// periods stay empty (plant rooms, weekends unless listed).
/// </summary>
public sealed class Timetable(IReadOnlyDictionary<string, IReadOnlyList<TimetablePeriod>> periods)
{
    static readonly IReadOnlySet<DayOfWeek> Weekdays = new HashSet<DayOfWeek>
        { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday };

    static readonly IReadOnlySet<DayOfWeek> Saturday = new HashSet<DayOfWeek> { DayOfWeek.Saturday };

    /// <summary>Periods by room type.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<TimetablePeriod>> Periods { get; } = periods;

    /// <summary>The timetable of the demo scenario (deploy/scenario.yaml), used when no scenario gives one.</summary>
    public static Timetable Default { get; } = new(new Dictionary<string, IReadOnlyList<TimetablePeriod>>(StringComparer.Ordinal)
    {
        ["classroom"] = Lectures(0.8),
        ["lecture-hall"] = Lectures(0.7),
        ["lab"] =
        [
            Period(Weekdays, "09:00", "12:00", 0.7),
            Period(Weekdays, "13:00", "17:00", 0.6),
        ],
        ["library"] = [Period(Weekdays, "08:00", "22:00", 0.5), Period(Saturday, "10:00", "18:00", 0.3)],
        ["study"] = [Period(Weekdays, "08:00", "22:00", 0.6), Period(Saturday, "10:00", "18:00", 0.3)],
        ["office"] = [Period(Weekdays, "08:00", "17:00", 0.7)],
    });

    /// <summary>The periods of a room type (none when the type is not listed).</summary>
    public IReadOnlyList<TimetablePeriod> For(string roomType) => Periods.GetValueOrDefault(roomType) ?? [];

    static TimetablePeriod[] Lectures(double occupancy) =>
    [
        Period(Weekdays, "08:15", "09:45", occupancy),
        Period(Weekdays, "10:00", "11:30", occupancy),
        Period(Weekdays, "11:45", "13:15", occupancy * 0.9),
        Period(Weekdays, "14:15", "15:45", occupancy * 0.85),
        Period(Weekdays, "16:00", "17:30", occupancy * 0.6),
    ];

    static TimetablePeriod Period(IReadOnlySet<DayOfWeek> days, string from, string to, double occupancy) =>
        new(days, TimeOnly.ParseExact(from, "HH:mm", CultureInfo.InvariantCulture), TimeOnly.ParseExact(to, "HH:mm", CultureInfo.InvariantCulture), occupancy);
}
