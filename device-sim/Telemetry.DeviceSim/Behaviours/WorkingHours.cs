namespace Telemetry.DeviceSim.Behaviours;

/// <summary>Daily curves in campus local time.</summary>
public static class WorkingHours
{
    /// <summary>A daily cosine in [-1, 1] peaking at <paramref name="peakHour"/>.</summary>
    public static double DailyCycle(DateTimeOffset local, double peakHour) =>
        Math.Cos(2 * Math.PI * (local.TimeOfDay.TotalHours - peakHour) / 24);

    /// <summary>0 before <paramref name="from"/>, 1 after <paramref name="to"/>, linear between.</summary>
    public static double Ramp(TimeSpan at, TimeSpan from, TimeSpan to) =>
        Math.Clamp((at - from) / (to - from), 0, 1);
}
