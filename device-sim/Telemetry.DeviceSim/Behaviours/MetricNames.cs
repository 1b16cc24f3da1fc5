namespace Telemetry.DeviceSim.Behaviours;

/// <summary>The metric names the simulated sensors report (the payload's property names).</summary>
public static class MetricNames
{
    /// <summary>Air temperature, °C.</summary>
    public const string Temperature = "temperature";

    /// <summary>Relative humidity, %.</summary>
    public const string Humidity = "humidity";

    /// <summary>CO2 concentration, ppm.</summary>
    public const string Co2 = "co2";

    /// <summary>People in the room, a count.</summary>
    public const string People = "people";

    /// <summary>Electrical power drawn by the building, kW.</summary>
    public const string Power = "power";

    /// <summary>Energy meter register, kWh; never decreases.</summary>
    public const string Energy = "energy";
}
