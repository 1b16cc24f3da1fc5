using Telemetry.Domain.Reports;

namespace Telemetry.Grains.Reports;

/// <summary>Which local days a mark or a closing hour makes dirty (pure; the report grain's rules in one place).</summary>
public static class ReportSchedule
{
    static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    /// <summary>
    /// The local dates touched by <c>[h − lookback, h + 1 h + lookback)</c>, in order: a reading in UTC hour
    /// <paramref name="hourStartMs"/> is held for <paramref name="lookback"/> and read for days that start or end
    /// within that distance of it.
    /// </summary>
    public static IReadOnlyList<DateOnly> DaysOfMark(LocalCalendar calendar, long hourStartMs, TimeSpan lookback)
    {
        ArgumentNullException.ThrowIfNull(calendar);
        var hour = DateTimeOffset.FromUnixTimeMilliseconds(hourStartMs);
        var from = hour - lookback;
        var to = hour + Hour + lookback;
        var days = new List<DateOnly>();
        for (var day = calendar.DayOf(from); day.StartUtc < to; day = calendar.Day(day.LocalDate.AddDays(1)))
        {
            days.Add(day.LocalDate);
        }

        return days;
    }

    /// <summary>True when the hour of a mark ended before <c>now − lateness</c>: its readings are past correcting.</summary>
    public static bool IsTooLate(long hourStartMs, DateTimeOffset now, TimeSpan lateness) =>
        DateTimeOffset.FromUnixTimeMilliseconds(hourStartMs) + Hour < now - lateness;

    /// <summary>
    /// The hour windows that ended at least <paramref name="settle"/> before <paramref name="now"/> and after
    /// <paramref name="lastClosedEndMs"/> (0: none yet — the first closes from the start of today), and the days they
    /// make dirty: each hour's day, and when the hour is the last of its day, the <paramref name="recheckDays"/> days
    /// before it as well. Nothing older than the day of <c>now − lateness</c> is closed (a node down for weeks).
    /// Returns the new end of the last closed hour (unchanged when none closed).
    /// </summary>
    public static (IReadOnlyList<DateOnly> Days, long ClosedUntilMs) CloseHours(
        LocalCalendar calendar, long lastClosedEndMs, DateTimeOffset now, TimeSpan settle, TimeSpan lateness, int recheckDays)
    {
        ArgumentNullException.ThrowIfNull(calendar);
        var settled = now - settle;
        var floor = calendar.DayOf(now - lateness).StartUtc;
        var from = lastClosedEndMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(lastClosedEndMs) : calendar.DayOf(settled).StartUtc;
        if (from < floor)
        {
            from = floor;
        }

        var days = new SortedSet<DateOnly>();
        while (true)
        {
            var hour = calendar.HourOf(from);
            if (hour.EndUtc > settled)
            {
                break;
            }

            var day = calendar.DayOf(hour.StartUtc);
            days.Add(day.LocalDate);
            if (hour.EndUtc == day.EndUtc)
            {
                for (var i = 1; i <= recheckDays; i++)
                {
                    days.Add(day.LocalDate.AddDays(-i));
                }
            }

            from = hour.EndUtc;
        }

        return ([.. days], from.ToUnixTimeMilliseconds());
    }
}
