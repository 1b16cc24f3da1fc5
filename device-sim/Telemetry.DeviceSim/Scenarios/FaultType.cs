namespace Telemetry.DeviceSim.Scenarios;

/// <summary>A fault the simulator can inject into one sensor for a while.</summary>
public enum FaultType
{
    /// <summary>A freezer's compressor stops: its temperature rises about 0.3 °C a simulated minute up to ambient.</summary>
    FreezerFailure,
    /// <summary>The sensor repeats its last value.</summary>
    StuckSensor,
    /// <summary>The device disconnects and stays silent; it reconnects afterwards without uploading what it missed.</summary>
    Offline,
    /// <summary>An energy meter over-reads by a growing share: +rate % per simulated hour (default 10).</summary>
    MeterDrift,
    /// <summary>The device also publishes invalid payloads: a share rate (default 0.5) of its messages.</summary>
    MalformedPayloads,
    /// <summary>An energy meter's register drops to 0 when the fault begins and counts on from there (permanent).</summary>
    MeterReset,
    /// <summary>
    /// An energy meter is replaced when the fault begins: the new meter's register starts at rate kWh (default 0)
    /// and counts on from there (permanent).
    /// </summary>
    MeterReplacement,
}

public static class FaultTypes
{
    static readonly Dictionary<string, FaultType> ByName = new(StringComparer.Ordinal)
    {
        ["freezer-failure"] = FaultType.FreezerFailure,
        ["stuck-sensor"] = FaultType.StuckSensor,
        ["offline"] = FaultType.Offline,
        ["meter-drift"] = FaultType.MeterDrift,
        ["malformed-payloads"] = FaultType.MalformedPayloads,
        ["meter-reset"] = FaultType.MeterReset,
        ["meter-replacement"] = FaultType.MeterReplacement,
    };

    /// <summary>The names as written in scenario files and on the command line.</summary>
    public static IEnumerable<string> Names => ByName.Keys;

    public static bool TryParse(string? name, out FaultType fault) => ByName.TryGetValue(name ?? "", out fault);

    public static string Name(this FaultType fault) => ByName.First(pair => pair.Value == fault).Key;
}
