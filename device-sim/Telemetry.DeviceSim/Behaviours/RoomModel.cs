using Telemetry.DeviceSim.Scenarios;

namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// One room's use over time, shared by its sensors. People follow the room type's timetable: they arrive over the
/// ten minutes before a period and the first five of it, leave over the three minutes before its end and the seven
/// after, fill the room to the period's occupancy × a factor in 0.8–1.15 drawn per room and period, with a ±8 %
/// wiggle every two minutes. Ventilation runs from an hour before a period to half an hour after it.
/// A pure function of time (no state), so sensors of the room may ask from different threads and agree.
/// </summary>
public sealed class RoomModel(int capacity, IReadOnlyList<TimetablePeriod> periods, int noiseKey)
{
    static readonly TimeSpan ArriveBefore = TimeSpan.FromMinutes(10), ArriveAfter = TimeSpan.FromMinutes(5);
    static readonly TimeSpan LeaveBefore = TimeSpan.FromMinutes(3), LeaveAfter = TimeSpan.FromMinutes(7);
    static readonly TimeSpan VentilateBefore = TimeSpan.FromHours(1), VentilateAfter = TimeSpan.FromMinutes(30);

    public int Capacity { get; } = Math.Max(0, capacity);

    /// <summary>Air volume in m³: 5 m³ a seat, at least 40 m³.</summary>
    public double VolumeM3 => Math.Max(40, Capacity * 5.0);

    public int PeopleAt(DateTimeOffset local)
    {
        if (Capacity == 0)
        {
            return 0;
        }

        var level = 0.0;
        var time = local.TimeOfDay;
        var day = DateOnly.FromDateTime(local.Date).DayNumber;
        foreach (var period in periods)
        {
            if (!period.Days.Contains(local.DayOfWeek))
            {
                continue;
            }

            var (from, to) = (period.From.ToTimeSpan(), period.To.ToTimeSpan());
            var ramp = WorkingHours.Ramp(time, from - ArriveBefore, from + ArriveAfter)
                       * (1 - WorkingHours.Ramp(time, to - LeaveBefore, to + LeaveAfter));
            if (ramp <= 0)
            {
                continue;
            }

            var factor = 0.8 + 0.35 * Noise.Uniform(noiseKey, (long)day * 1440 + (long)from.TotalMinutes);
            level = Math.Max(level, period.Occupancy * factor * ramp);
        }

        var wiggle = 0.92 + 0.16 * Noise.Uniform(noiseKey ^ 0x5bd1e995, local.ToUnixTimeSeconds() / 120);
        return (int)Math.Clamp(Math.Round(Capacity * level * wiggle), 0, Capacity);
    }

    public double UtilisationAt(DateTimeOffset local) => Capacity == 0 ? 0 : (double)PeopleAt(local) / Capacity;

    public bool VentilationOn(DateTimeOffset local)
    {
        var time = local.TimeOfDay;
        foreach (var period in periods)
        {
            if (period.Days.Contains(local.DayOfWeek)
                && time >= period.From.ToTimeSpan() - VentilateBefore && time < period.To.ToTimeSpan() + VentilateAfter)
            {
                return true;
            }
        }

        return false;
    }
}
