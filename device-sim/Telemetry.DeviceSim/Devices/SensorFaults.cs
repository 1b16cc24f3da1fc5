using Telemetry.DeviceSim.Scenarios;

namespace Telemetry.DeviceSim.Devices;

/// <summary>One fault of one sensor in absolute simulated time: active from <see cref="Start"/> (inclusive) to <see cref="End"/>.</summary>
public sealed record FaultWindow(FaultType Fault, DateTimeOffset Start, DateTimeOffset End, double Rate)
{
    public bool Covers(DateTimeOffset at) => at >= Start && at < End;
}

/// <summary>The faults scheduled for one sensor; behaviours and the device ask which is active at a simulated time.</summary>
public sealed class SensorFaults(IReadOnlyList<FaultWindow> windows)
{
    public static SensorFaults None { get; } = new([]);

    public IReadOnlyList<FaultWindow> Windows { get; } = windows;

    public static SensorFaults For(string sensorId, IEnumerable<FaultSpec> faults, DateTimeOffset simulatedStart) =>
        new([.. faults.Where(f => string.Equals(f.Sensor, sensorId, StringComparison.Ordinal))
            .Select(f => new FaultWindow(f.Fault, simulatedStart + f.At, simulatedStart + f.At + f.Duration, f.EffectiveRate))]);

    /// <summary>The active window of <paramref name="fault"/> at <paramref name="at"/>, if any.</summary>
    public FaultWindow? Active(FaultType fault, DateTimeOffset at)
    {
        foreach (var window in Windows)
        {
            if (window.Fault == fault && window.Covers(at))
            {
                return window;
            }
        }

        return null;
    }

    public bool IsActive(FaultType fault, DateTimeOffset at) => Active(fault, at) is not null;
}
