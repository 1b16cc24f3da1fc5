using System.Globalization;

namespace Telemetry.Domain.Reports;

/// <summary>Hourly or daily report windows.</summary>
public enum ReportPeriod
{
    Hour,
    Day,
}

/// <summary>
/// One local calendar window as a half-open UTC interval [<paramref name="StartUtc"/>, <paramref name="EndUtc"/>).
/// <paramref name="LocalStart"/> is the campus wall-clock time at the start (hour windows: HH:00; day windows: the
/// first valid local time of the date, normally 00:00) and <paramref name="Offset"/> the UTC offset in force then.
/// The start instant identifies the window: the repeated autumn hour is two windows with the same local start but
/// different UTC starts and offsets.
/// </summary>
public sealed record LocalWindow(ReportPeriod Period, DateTimeOffset StartUtc, DateTimeOffset EndUtc, DateTime LocalStart, TimeSpan Offset)
{
    public TimeSpan Length => EndUtc - StartUtc;

    public DateOnly LocalDate => DateOnly.FromDateTime(LocalStart);

    public bool Contains(DateTimeOffset instant) => instant >= StartUtc && instant < EndUtc;
}

/// <summary>
/// Maps UTC instants to local hour and day windows of one IANA time zone (the registry's <c>campus.timezone</c>).
/// Hour windows are the UTC hours shifted by the zone's offset, so across DST a local day has 23 or 25 of them; day
/// windows run from one local midnight to the next (23 or 25 hours). Uses the zone rules of .NET
/// (<see cref="TimeZoneInfo"/>), no hand-written rules. Immutable and thread-safe.
/// </summary>
public sealed class LocalCalendar
{
    public LocalCalendar(TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        Zone = zone;
    }

    public TimeZoneInfo Zone { get; }

    /// <summary>How a campus-local date is written in the API, the report grain's state and its status: <c>yyyy-MM-dd</c>.</summary>
    public const string DateFormat = "yyyy-MM-dd";

    /// <summary>Reads a campus-local date written as <see cref="DateFormat"/>; false for anything else.</summary>
    public static bool TryParseDate(string? text, out DateOnly date) =>
        DateOnly.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

    /// <summary>A campus-local date as <see cref="DateFormat"/>.</summary>
    public static string FormatDate(DateOnly date) => date.ToString(DateFormat, CultureInfo.InvariantCulture);

    /// <summary>The calendar of an IANA zone id; throws <see cref="TimeZoneNotFoundException"/> for an unknown id.</summary>
    public static LocalCalendar ForZone(string ianaId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ianaId);
        return new LocalCalendar(TimeZoneInfo.FindSystemTimeZoneById(ianaId));
    }

    public LocalWindow WindowOf(ReportPeriod period, DateTimeOffset instant) =>
        period == ReportPeriod.Hour ? HourOf(instant) : DayOf(instant);

    /// <summary>
    /// The local hour holding <paramref name="instant"/>. The offset is taken at the instant and the window is the
    /// local hour under that offset, clipped to the zone's transitions (for zones whose offsets are not whole hours
    /// apart an hour around a transition can be shorter than 60 minutes; for whole-hour zones such as Europe/Berlin
    /// every hour window is exactly 60 minutes).
    /// </summary>
    public LocalWindow HourOf(DateTimeOffset instant)
    {
        var utc = instant.UtcDateTime;
        var offset = Zone.GetUtcOffset(utc);
        var local = utc + offset;
        var localHour = new DateTime(local.Year, local.Month, local.Day, local.Hour, 0, 0, DateTimeKind.Utc);
        var start = localHour - offset;
        var end = start.AddHours(1);

        // Clip to a transition inside [start, end) so the offset is the same over the whole window; the two checks
        // keep the common case at two look-ups, a binary search finds the transition instant to the tick.
        var startClip = Zone.GetUtcOffset(start) == offset ? start : FirstWithOffset(start, utc, offset);
        var last = end.AddTicks(-1);
        var endClip = Zone.GetUtcOffset(last) == offset ? end : FirstWithoutOffset(utc, last, offset);

        return new LocalWindow(
            ReportPeriod.Hour,
            new DateTimeOffset(DateTime.SpecifyKind(startClip, DateTimeKind.Utc)),
            new DateTimeOffset(DateTime.SpecifyKind(endClip, DateTimeKind.Utc)),
            DateTime.SpecifyKind(startClip + offset, DateTimeKind.Unspecified),
            offset);
    }

    /// <summary>The local day holding <paramref name="instant"/>: from its local midnight to the next one.</summary>
    public LocalWindow DayOf(DateTimeOffset instant)
    {
        var local = TimeZoneInfo.ConvertTimeFromUtc(instant.UtcDateTime, Zone);
        return Day(DateOnly.FromDateTime(local));
    }

    /// <summary>The window of a local date.</summary>
    public LocalWindow Day(DateOnly date)
    {
        var start = FirstInstantOf(date.ToDateTime(TimeOnly.MinValue));
        var end = FirstInstantOf(date.AddDays(1).ToDateTime(TimeOnly.MinValue));
        var offset = Zone.GetUtcOffset(start.UtcDateTime);
        return new LocalWindow(ReportPeriod.Day, start, end, DateTime.SpecifyKind(start.UtcDateTime + offset, DateTimeKind.Unspecified), offset);
    }

    /// <summary>The windows of <paramref name="period"/> that overlap [<paramref name="from"/>, <paramref name="to"/>), in order.</summary>
    public IEnumerable<LocalWindow> Windows(ReportPeriod period, DateTimeOffset from, DateTimeOffset to)
    {
        for (var t = from; t < to;)
        {
            var window = WindowOf(period, t);
            yield return window;
            t = window.EndUtc;
        }
    }

    /// <summary>
    /// True when the window starts at or after <paramref name="fromHour"/> and before <paramref name="toHour"/> local
    /// time (default 00:00–05:00): the overnight base load. Day windows are never overnight.
    /// </summary>
    public static bool IsOvernight(LocalWindow window, int fromHour = 0, int toHour = 5)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentOutOfRangeException.ThrowIfNegative(fromHour);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(toHour, 24);
        return window.Period == ReportPeriod.Hour && window.LocalStart.Hour >= fromHour && window.LocalStart.Hour < toHour;
    }

    /// <summary>True when the window's local date is a Saturday or Sunday.</summary>
    public static bool IsWeekend(LocalWindow window)
    {
        ArgumentNullException.ThrowIfNull(window);
        return window.LocalStart.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday;
    }

    /// <summary>The first instant in (<paramref name="lo"/>, <paramref name="hi"/>] with <paramref name="offset"/>; lo has another.</summary>
    DateTime FirstWithOffset(DateTime lo, DateTime hi, TimeSpan offset)
    {
        while (hi.Ticks - lo.Ticks > 1)
        {
            var mid = new DateTime(lo.Ticks + ((hi.Ticks - lo.Ticks) / 2), DateTimeKind.Utc);
            if (Zone.GetUtcOffset(mid) == offset)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        return hi;
    }

    /// <summary>The first instant in (<paramref name="lo"/>, <paramref name="hi"/>] without <paramref name="offset"/>; lo has it.</summary>
    DateTime FirstWithoutOffset(DateTime lo, DateTime hi, TimeSpan offset)
    {
        while (hi.Ticks - lo.Ticks > 1)
        {
            var mid = new DateTime(lo.Ticks + ((hi.Ticks - lo.Ticks) / 2), DateTimeKind.Utc);
            if (Zone.GetUtcOffset(mid) == offset)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return hi;
    }

    /// <summary>
    /// The first instant whose local time is at or after <paramref name="local"/>: a local time in a spring-forward gap
    /// maps to the transition, a repeated local time to its first occurrence.
    /// </summary>
    DateTimeOffset FirstInstantOf(DateTime local)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (Zone.IsInvalidTime(local))
        {
            // Gaps are at most a few hours; walk minute by minute to the first valid wall-clock time.
            var probe = local;
            while (Zone.IsInvalidTime(probe))
            {
                probe = probe.AddMinutes(1);
            }

            local = probe;
        }

        var offset = Zone.IsAmbiguousTime(local) ? Zone.GetAmbiguousTimeOffsets(local).Max() : Zone.GetUtcOffset(local);
        return new DateTimeOffset(DateTime.SpecifyKind(local - offset, DateTimeKind.Utc));
    }
}
