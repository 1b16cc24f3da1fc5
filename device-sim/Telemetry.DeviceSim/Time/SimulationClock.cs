namespace Telemetry.DeviceSim.Time;

/// <summary>
/// Simulated time: it starts at <see cref="Start"/> when the run starts and runs <see cref="Speed"/> times as fast
/// as the wall clock, so a 60 s interval takes 60/<see cref="Speed"/> wall seconds.
/// </summary>
public sealed class SimulationClock
{
    public SimulationClock(DateTimeOffset start, double speed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(speed);
        Start = start;
        Speed = speed;
    }

    public DateTimeOffset Start { get; }
    public double Speed { get; }

    /// <summary>The simulated time after <paramref name="wallElapsed"/> of the run.</summary>
    public DateTimeOffset SimulatedAt(TimeSpan wallElapsed) => Start + wallElapsed * Speed;

    /// <summary>How far into the run (wall time) <paramref name="simulated"/> comes.</summary>
    public TimeSpan WallOffsetOf(DateTimeOffset simulated) => (simulated - Start) / Speed;

    /// <summary>A simulated span as wall time.</summary>
    public TimeSpan ToWall(TimeSpan simulated) => simulated / Speed;

    /// <summary>
    /// The default start: the simulated period (<paramref name="wallDuration"/> × <paramref name="speed"/>) ends at
    /// <paramref name="now"/>, so no timestamp lies in the future. Without a duration the run starts now.
    /// </summary>
    public static DateTimeOffset DefaultStart(DateTimeOffset now, TimeSpan? wallDuration, double speed) =>
        wallDuration is { } duration ? now - duration * speed : now;
}
