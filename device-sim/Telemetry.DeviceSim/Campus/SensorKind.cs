namespace Telemetry.DeviceSim.Campus;

/// <summary>What a simulated sensor measures; decides its behaviour and the metrics it reports.</summary>
public enum SensorKind
{
    Temperature,
    Humidity,
    Co2,
    Occupancy,
    Energy,
}
