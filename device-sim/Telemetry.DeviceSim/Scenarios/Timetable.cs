using System.Globalization;

namespace Telemetry.DeviceSim.Scenarios;

/// <summary>
/// One period of a room type's timetable: on <paramref name="Days"/>, from <paramref name="From"/> to
/// <paramref name="To"/> (campus local time, same day), rooms of the type are filled to <paramref name="Occupancy"/>
/// of their capacity (0–1).
/// </summary>
public sealed record TimetablePeriod(IReadOnlySet<DayOfWeek> Days, TimeOnly From, TimeOnly To, double Occupancy)
{
    /// <summary>Parses <c>mon-fri</c>, <c>sat</c>, <c>mon,wed,fri</c>, <c>sat-sun</c>, <c>daily</c>.</summary>
    public static bool TryParseDays(string? text, out IReadOnlySet<DayOfWeek> days)
    {
        var set = new HashSet<DayOfWeek>();
        days = set;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        if (text.Trim() is "daily" or "every day")
        {
            set.UnionWith(Enum.GetValues<DayOfWeek>());
            return true;
        }

        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var range = part.Split('-', StringSplitOptions.TrimEntries);
            if (range.Length is < 1 or > 2 || !TryDay(range[0], out var first))
            {
                return false;
            }

            var last = first;
            if (range.Length == 2 && !TryDay(range[1], out last))
            {
                return false;
            }

            for (var day = first; ; day = (DayOfWeek)(((int)day + 1) % 7))
            {
                set.Add(day);
                if (day == last)
                {
                    break;
                }
            }
        }

        return set.Count > 0;
    }

    static bool TryDay(string text, out DayOfWeek day)
    {
        string[] names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        var index = Array.IndexOf(names, text.ToLowerInvariant().Length >= 3 ? text.ToLowerInvariant()[..3] : text);
        day = (DayOfWeek)Math.Max(index, 0);
        return index >= 0;
    }

    public static bool TryParseTime(string? text, out TimeOnly time) =>
        TimeOnly.TryParseExact(text, ["H:mm", "HH:mm"], CultureInfo.InvariantCulture, DateTimeStyles.None, out time);
}

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
