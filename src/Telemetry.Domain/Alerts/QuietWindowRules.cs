using Telemetry.Contracts;
using Telemetry.Domain.Campus;

namespace Telemetry.Domain.Alerts;

/// <summary>
/// The one place that decides whether a quiet window is valid and whether it keeps a notification about an alert from
/// being sent (docs/alerts.md, "Quiet windows").
/// </summary>
public static class QuietWindowRules
{
    /// <summary>What a schedule looks like, for error messages.</summary>
    public const string ScheduleExample = "\"mon-fri 22:00-06:00\" or \"daily 12:00-13:00\"";

    /// <summary>Longest reason kept.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>
    /// The first window in <paramref name="windows"/> that is in force at <paramref name="nowMs"/> and covers
    /// <paramref name="alert"/>; null when none does (the notification is sent). Schedules are read in
    /// <paramref name="zone"/>, the campus time zone.
    /// </summary>
    public static QuietWindow? Suppressing(IEnumerable<QuietWindow> windows, AlertInfo alert, long nowMs, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(zone);
        foreach (var window in windows)
        {
            if (Covers(window, alert) && InForce(window, nowMs, zone))
            {
                return window;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="window"/> covers <paramref name="alert"/>: its building or sensor (or the whole campus), up to its severity.</summary>
    public static bool Covers(QuietWindow window, AlertInfo alert)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(alert);
        return alert.Severity <= window.UpToSeverity
            && (window.Building is null || string.Equals(window.Building, alert.Building, StringComparison.Ordinal))
            && (window.Sensor is null || string.Equals(window.Sensor, alert.Sensor, StringComparison.Ordinal));
    }

    /// <summary>Whether <paramref name="window"/> is in force at <paramref name="nowMs"/>: between its start and end, and in a period of its schedule.</summary>
    public static bool InForce(QuietWindow window, long nowMs, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(window);
        if (window.StartsAtMs is { } start && nowMs < start)
        {
            return false;
        }

        if (window.EndsAtMs is { } end && nowMs >= end)
        {
            return false;
        }

        if (window.Schedule is null)
        {
            return true;
        }

        if (!TryParseSchedule(window.Schedule, out var schedule, out _))
        {
            // Windows are validated before they are stored (Problems); a stored one that no longer parses suppresses
            // nothing rather than everything.
            return false;
        }

        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTimeOffset.FromUnixTimeMilliseconds(nowMs).UtcDateTime, zone);
        return schedule.Contains(local);
    }

    /// <summary>Whether the window is over for good at <paramref name="nowMs"/> (it can be forgotten).</summary>
    public static bool IsOver(QuietWindow window, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(window);
        return window.EndsAtMs is { } end && nowMs >= end;
    }

    /// <summary>
    /// What is wrong with <paramref name="window"/>, one message per problem naming the field; empty when it can be
    /// stored. The API calls this before a window reaches the grain.
    /// </summary>
    public static IReadOnlyList<string> Problems(QuietWindow window)
    {
        ArgumentNullException.ThrowIfNull(window);
        List<string> problems = [];
        if (window.Building is { } building && string.IsNullOrWhiteSpace(building))
        {
            problems.Add("building must not be blank (leave it out for every building)");
        }

        if (window.Sensor is { } sensor && string.IsNullOrWhiteSpace(sensor))
        {
            problems.Add("sensor must not be blank (leave it out for every sensor)");
        }

        if (window.StartsAtMs is { } start && window.EndsAtMs is { } end && end <= start)
        {
            problems.Add("until must be after from");
        }

        if (window.Schedule is null && window.EndsAtMs is null)
        {
            problems.Add("a window needs an end (until) or a schedule; a window without either would silence its alerts for ever");
        }

        if (window.Schedule is { } text && !TryParseSchedule(text, out _, out var error))
        {
            problems.Add($"schedule: {error}");
        }

        if (string.IsNullOrWhiteSpace(window.Reason))
        {
            problems.Add("reason must say why notifications are held back (people reading the list later need to know)");
        }

        if (window.Reason.Length > MaxReasonLength)
        {
            problems.Add($"reason is longer than {MaxReasonLength} characters");
        }

        return problems;
    }

    /// <summary>
    /// Parses a schedule: days (the timetable grammar, <see cref="TimetableSlot.DaysExample"/>) and a period
    /// <c>HH:mm-HH:mm</c>. A period that ends at or before it starts wraps past midnight: <c>mon-fri 22:00-06:00</c>
    /// is in force from 22:00 on each of those days until 06:00 the next morning.
    /// </summary>
    public static bool TryParseSchedule(string? text, out QuietSchedule schedule, out string error)
    {
        schedule = new QuietSchedule(new HashSet<DayOfWeek>(), default, default);
        error = "";
        var parts = text?.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts is not { Length: 2 })
        {
            error = $"'{text}' is not a schedule; expected days and a period, e.g. {ScheduleExample}";
            return false;
        }

        if (!TimetableSlot.TryParseDays(parts[0], out var days))
        {
            error = $"'{parts[0]}' are not days; expected e.g. {TimetableSlot.DaysExample}";
            return false;
        }

        var times = parts[1].Split('-', StringSplitOptions.TrimEntries);
        if (times.Length != 2 || !TimetableSlot.TryParseTime(times[0], out var from) || !TimetableSlot.TryParseTime(times[1], out var to))
        {
            error = $"'{parts[1]}' is not a period; expected from-to in 24-hour time, e.g. 22:00-06:00";
            return false;
        }

        if (from == to)
        {
            error = $"'{parts[1]}' is empty: from and to are the same time (use 00:00-23:59 for a whole day)";
            return false;
        }

        schedule = new QuietSchedule(days, from, to);
        return true;
    }
}

/// <summary>A parsed quiet-window schedule: on <paramref name="Days"/> from <paramref name="From"/>, until <paramref name="To"/> the same day or, when <paramref name="To"/> is not after <paramref name="From"/>, the next day.</summary>
public sealed record QuietSchedule(IReadOnlySet<DayOfWeek> Days, TimeOnly From, TimeOnly To)
{
    public bool WrapsMidnight => To <= From;

    /// <summary>Whether the local wall-clock time <paramref name="local"/> is in a period.</summary>
    public bool Contains(DateTime local)
    {
        var time = TimeOnly.FromDateTime(local);
        if (!WrapsMidnight)
        {
            return Days.Contains(local.DayOfWeek) && time >= From && time < To;
        }

        // Evening part on a listed day, or morning part on the day after a listed day.
        return (Days.Contains(local.DayOfWeek) && time >= From)
            || (Days.Contains(local.AddDays(-1).DayOfWeek) && time < To);
    }
}
