using Telemetry.Domain.Campus;

namespace Telemetry.DeviceSim.Campus;

/// <summary>
/// The simulator's view of a <see cref="CampusRegistry"/>: every registered sensor in file order (building by
/// building, room by room) with the behaviour that simulates it.
/// </summary>
public sealed class CampusLayout
{
    public const string PlantRoom = DemoCampus.PlantRoom;

    CampusLayout(CampusRegistry registry, IReadOnlyList<string> buildings, IReadOnlyList<SensorInfo> sensors)
    {
        Registry = registry;
        Buildings = buildings;
        Sensors = sensors;
    }

    public CampusRegistry Registry { get; }

    public IReadOnlyList<string> Buildings { get; }

    /// <summary>Every sensor, building by building and room by room.</summary>
    public IReadOnlyList<SensorInfo> Sensors { get; }

    /// <summary>The generated demo campus (see <see cref="DemoCampus.Generate"/>).</summary>
    public static CampusLayout Generate(int buildings, int roomsPerBuilding, int labsPerBuilding = 0) =>
        FromRegistry(DemoCampus.Generate(buildings, roomsPerBuilding, labsPerBuilding));

    public static CampusLayout FromRegistry(CampusRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var sensors = new List<SensorInfo>();
        foreach (var building in registry.Buildings)
        {
            foreach (var room in building.Rooms)
            {
                foreach (var sensor in room.Sensors)
                {
                    var kind = registry.Kinds[sensor.Kind];
                    sensors.Add(new SensorInfo(sensor.Id, building.Id, room.Id, kind.Id, ModelOf(sensor.Id, kind)));
                }
            }
        }

        return new CampusLayout(registry, [.. registry.Buildings.Select(b => b.Id)], sensors);
    }

    /// <summary>
    /// The behaviour for a sensor: the demo kinds by id; other kinds by their metrics (a compressor makes a freezer,
    /// airflow a fume hood, energy a meter — lighting or HVAC when the sensor id says so —, then people, co2,
    /// humidity, temperature); anything else is <see cref="SensorModel.Generic"/>.
    /// </summary>
    public static SensorModel ModelOf(string sensorId, SensorKind kind)
    {
        ArgumentNullException.ThrowIfNull(sensorId);
        ArgumentNullException.ThrowIfNull(kind);
        var model = kind.Id switch
        {
            DemoCampus.TemperatureKind => SensorModel.Temperature,
            DemoCampus.HumidityKind => SensorModel.Humidity,
            DemoCampus.Co2Kind => SensorModel.Co2,
            DemoCampus.OccupancyKind => SensorModel.Occupancy,
            DemoCampus.EnergyMeterKind => SensorModel.EnergyMeter,
            DemoCampus.SubMeterKind => SubMeter(sensorId),
            DemoCampus.FreezerKind => SensorModel.Freezer,
            DemoCampus.FumeHoodKind => SensorModel.FumeHood,
            _ => (SensorModel?)null,
        };
        if (model is { } known)
        {
            return known;
        }

        var metrics = kind.Metrics;
        return metrics.ContainsKey("compressor") ? SensorModel.Freezer
            : metrics.ContainsKey("airflow") ? SensorModel.FumeHood
            : metrics.ContainsKey("energy") ? SubMeter(sensorId) is var sub && sub == SensorModel.Generic ? SensorModel.EnergyMeter : sub
            : metrics.ContainsKey("people") ? SensorModel.Occupancy
            : metrics.ContainsKey("co2") ? SensorModel.Co2
            : metrics.ContainsKey("humidity") ? SensorModel.Humidity
            : metrics.ContainsKey("temperature") ? SensorModel.Temperature
            : SensorModel.Generic;

        static SensorModel SubMeter(string id) =>
            id.Contains("light", StringComparison.OrdinalIgnoreCase) ? SensorModel.LightingMeter
            : id.Contains("hvac", StringComparison.OrdinalIgnoreCase) ? SensorModel.HvacMeter
            : SensorModel.Generic;
    }
}
