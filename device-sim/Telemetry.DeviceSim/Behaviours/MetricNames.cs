namespace Telemetry.DeviceSim.Behaviours;

/// <summary>The metric names the simulated sensors report (the payload's property names, as in the demo kinds).</summary>
public static class MetricNames
{
    /// <summary>Air temperature (or a freezer's), °C.</summary>
    public const string Temperature = "temperature";

    /// <summary>Relative humidity, %.</summary>
    public const string Humidity = "humidity";

    /// <summary>CO2 concentration, ppm.</summary>
    public const string Co2 = "co2";

    /// <summary>People in the room, a count.</summary>
    public const string People = "people";

    /// <summary>Electrical power, kW.</summary>
    public const string Power = "power";

    /// <summary>Energy meter register, kWh; never decreases.</summary>
    public const string Energy = "energy";

    /// <summary>Battery charge of a battery-powered sensor, %.</summary>
    public const string Battery = "battery";

    /// <summary>Radio signal strength, dBm.</summary>
    public const string Rssi = "rssi";

    /// <summary>A freezer's compressor: 1 running, 0 stopped.</summary>
    public const string Compressor = "compressor";

    /// <summary>A device's fault code: 0 none.</summary>
    public const string Fault = "fault";

    /// <summary>A fume hood's face velocity, m/s.</summary>
    public const string Airflow = "airflow";

    /// <summary>A fume hood's sash opening, %.</summary>
    public const string Sash = "sash";
}
