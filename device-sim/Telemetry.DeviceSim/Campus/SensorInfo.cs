namespace Telemetry.DeviceSim.Campus;

/// <summary>
/// One sensor of the campus: where it is, its registry kind, the behaviour that simulates it, and the topic it
/// publishes to.
/// </summary>
public sealed record SensorInfo(string Id, string Building, string Room, string Kind, SensorModel Model)
{
    /// <summary>The topic of the service's contract: <c>campus/{building}/{room}/{sensor}/telemetry</c>.</summary>
    public string Topic => $"campus/{Building}/{Room}/{Id}/telemetry";
}
