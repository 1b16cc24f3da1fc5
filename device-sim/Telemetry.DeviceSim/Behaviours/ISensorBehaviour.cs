namespace Telemetry.DeviceSim.Behaviours;

/// <summary>How one simulated sensor's readings evolve. Each instance belongs to one device and is not shared.</summary>
public interface ISensorBehaviour
{
    /// <summary>
    /// The metrics measured at simulated time <paramref name="at"/>, given in the campus's local time (daily curves
    /// and timetables follow it). Calls come in increasing time order.
    /// </summary>
    IReadOnlyDictionary<string, double> Sample(DateTimeOffset at);
}
