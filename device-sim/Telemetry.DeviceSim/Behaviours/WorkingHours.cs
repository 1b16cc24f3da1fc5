namespace Telemetry.DeviceSim.Behaviours;

/// <summary>How busy the campus is at a local time, from 0 (empty) to 1 (peak).</summary>
public static class WorkingHours
{
    public const int Opens = 8;
    public const int Closes = 18;

    /// <summary>
    /// Zero outside 08:00–18:00; inside, a sine arch peaking at 13:00 with a dip over lunch (12:00–13:00).
    /// Weekends run at a tenth of a weekday.
    /// </summary>
    public static double Activity(DateTimeOffset local)
    {
        var hour = local.TimeOfDay.TotalHours;
        if (hour < Opens || hour >= Closes)
        {
            return 0;
        }

        var activity = Math.Sin(Math.PI * (hour - Opens) / (Closes - Opens));
        if (hour is >= 12 and < 13)
        {
            activity *= 0.6;
        }

        return local.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? activity * 0.1 : activity;
    }

    /// <summary>A daily cosine in [-1, 1] peaking at <paramref name="peakHour"/>.</summary>
    public static double DailyCycle(DateTimeOffset local, double peakHour) =>
        Math.Cos(2 * Math.PI * (local.TimeOfDay.TotalHours - peakHour) / 24);
}
