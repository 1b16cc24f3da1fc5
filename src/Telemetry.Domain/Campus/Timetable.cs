using System.Globalization;
using Telemetry.Domain.Reports;

namespace Telemetry.Domain.Campus;

/// <summary>
/// One period of a timetable: on <paramref name="Days"/>, from <paramref name="From"/> (inclusive) to
/// <paramref name="To"/> (exclusive), campus local wall-clock time, the same day. The one grammar of days and times
/// for the registry's <c>timetables:</c> and the simulator's scenario <c>timetable:</c>.
/// </summary>
public sealed record TimetableSlot(IReadOnlySet<DayOfWeek> Days, TimeOnly From, TimeOnly To)
{
    /// <summary>What <see cref="TryParseDays"/> accepts, for error messages.</summary>
    public const string DaysExample = "mon-fri, sat, mon,wed,fri or daily";

    /// <summary>What <see cref="TryParseTime"/> accepts, for error messages.</summary>
    public const string TimeExample = "\"08:15\"";

    static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    /// <summary>Whether the local wall-clock time <paramref name="localTime"/> is in this period.</summary>
    public bool Contains(DateTime localTime)
    {
        var time = TimeOnly.FromDateTime(localTime);
        return Days.Contains(localTime.DayOfWeek) && time >= From && time < To;
    }

    /// <summary>
    /// Parses <c>mon-fri</c>, <c>sat</c>, <c>mon,wed,fri</c>, <c>sat-sun</c>, <c>fri-mon</c> (wrapping), <c>daily</c>;
    /// day names may be written out (<c>monday</c>), only their first three letters count.
    /// </summary>
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

    /// <summary>Parses a wall-clock time <c>H:mm</c> or <c>HH:mm</c> (00:00–23:59).</summary>
    public static bool TryParseTime(string? text, out TimeOnly time) =>
        TimeOnly.TryParseExact(text, ["H:mm", "HH:mm"], CultureInfo.InvariantCulture, DateTimeStyles.None, out time);

    static bool TryDay(string text, out DayOfWeek day)
    {
        var lower = text.ToLowerInvariant();
        var index = Array.IndexOf(DayNames, lower.Length >= 3 ? lower[..3] : lower);
        day = (DayOfWeek)Math.Max(index, 0);
        return index >= 0;
    }
}

/// <summary>
/// When rooms of a type are timetabled (registry <c>timetables:</c>): the union of its periods. Utilisation is
/// measured against it (docs/reports.md). Immutable.
/// </summary>
public sealed class Timetable
{
    public Timetable(IReadOnlyList<TimetableSlot> slots)
    {
        ArgumentNullException.ThrowIfNull(slots);
        Slots = slots;
    }

    public IReadOnlyList<TimetableSlot> Slots { get; }

    /// <summary>Whether the local wall-clock time <paramref name="localTime"/> is in any period.</summary>
    public bool Contains(DateTime localTime)
    {
        foreach (var slot in Slots)
        {
            if (slot.Contains(localTime))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The timetabled minutes of a window: its minutes (from the window's start) whose local wall-clock time at the
    /// minute's start is timetabled. Across DST the window's real minutes count (a 23-hour day has 1380).
    /// </summary>
    public int TimetabledMinutes(LocalCalendar calendar, LocalWindow window)
    {
        ArgumentNullException.ThrowIfNull(calendar);
        ArgumentNullException.ThrowIfNull(window);
        var minutes = 0;
        foreach (var hour in calendar.Windows(ReportPeriod.Hour, window.StartUtc, window.EndUtc))
        {
            // An hour window has one offset throughout, so its local minutes follow from its local start.
            var from = hour.StartUtc < window.StartUtc ? window.StartUtc : hour.StartUtc;
            var to = hour.EndUtc > window.EndUtc ? window.EndUtc : hour.EndUtc;
            for (var t = from; t < to; t = t.AddMinutes(1))
            {
                if (Contains(hour.LocalStart + (t - hour.StartUtc)))
                {
                    minutes++;
                }
            }
        }

        return minutes;
    }
}
