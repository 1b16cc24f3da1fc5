namespace Telemetry.Domain.Alerts;

/// <summary>Tuning of <see cref="SensorAlertEngine"/> that is the same for every sensor.</summary>
public sealed record AlertEngineOptions
{
    public static AlertEngineOptions Default { get; } = new();

    /// <summary>
    /// The raise of a rule that is its <c>FlapThreshold</c>-th within <see cref="FlapWindow"/> marks the alert flapping.
    /// 0 turns the guard off.
    /// </summary>
    public int FlapThreshold { get; init; } = 3;

    /// <summary>Window for counting raises; a flapping alert clears only after its condition was false this long.</summary>
    public TimeSpan FlapWindow { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>How many cleared alerts the engine remembers, so a late acknowledgement gets "already cleared".</summary>
    public int ClearedHistory { get; init; } = 32;

    internal void Validate()
    {
        if (FlapThreshold < 0)
        {
            throw new ArgumentException($"Alert options: FlapThreshold must be 0 (off) or more, got {FlapThreshold}.");
        }
        if (FlapThreshold > 0 && FlapWindow <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Alert options: FlapWindow must be positive when the flap guard is on, got {FlapWindow}.");
        }
        if (ClearedHistory < 0)
        {
            throw new ArgumentException($"Alert options: ClearedHistory must not be negative, got {ClearedHistory}.");
        }
    }
}
