namespace Telemetry.DeviceSim.Campus;

/// <summary>
/// Which behaviour simulates a sensor. Chosen from the registry kind's id (the demo kinds) or, for other kinds, from
/// the metrics the kind reports (see <see cref="CampusLayout.ModelOf"/>).
/// </summary>
public enum SensorModel
{
    /// <summary>Room air temperature (°C).</summary>
    Temperature,
    /// <summary>Room relative humidity (%).</summary>
    Humidity,
    /// <summary>Room CO2 (ppm).</summary>
    Co2,
    /// <summary>People counter of a room.</summary>
    Occupancy,
    /// <summary>A building's mains meter: base load + lighting + HVAC.</summary>
    EnergyMeter,
    /// <summary>The lighting feed of a building.</summary>
    LightingMeter,
    /// <summary>The HVAC feed of a building.</summary>
    HvacMeter,
    /// <summary>A lab freezer at about −20 °C cycling its compressor.</summary>
    Freezer,
    /// <summary>A lab fume hood: airflow, sash opening, fault code.</summary>
    FumeHood,
    /// <summary>Any other kind: each metric gets a plausible value for its unit.</summary>
    Generic,
}
