namespace Telemetry.DeviceSim.Time;

/// <summary>
/// A device's own clock: off from simulated time by a fixed <see cref="Skew"/>, and stamping whole milliseconds that
/// strictly increase, so no two readings of a sensor share a timestamp.
/// </summary>
public sealed class DeviceClock(TimeSpan skew)
{
    long _last = long.MinValue;

    public TimeSpan Skew { get; } = skew;

    /// <summary>A skew drawn uniformly from ±<paramref name="max"/>, in whole milliseconds.</summary>
    public static TimeSpan DrawSkew(Random random, TimeSpan max)
    {
        ArgumentNullException.ThrowIfNull(random);
        return max <= TimeSpan.Zero
            ? TimeSpan.Zero
            : TimeSpan.FromMilliseconds(Math.Round(max.TotalMilliseconds * (2 * random.NextDouble() - 1)));
    }

    /// <summary>The timestamp the device writes for a reading taken at simulated time <paramref name="simulated"/>.</summary>
    public DateTimeOffset Stamp(DateTimeOffset simulated)
    {
        var ms = (simulated + Skew).ToUnixTimeMilliseconds();
        _last = _last == long.MinValue ? ms : Math.Max(ms, _last + 1);
        return DateTimeOffset.FromUnixTimeMilliseconds(_last);
    }
}
