using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Devices;
using Telemetry.DeviceSim.Scenarios;
using Telemetry.Domain.Campus;
using Timetable = Telemetry.DeviceSim.Scenarios.Timetable;

namespace Telemetry.DeviceSim.Behaviours;

/// <summary>Gives every sensor of a layout its behaviour, deterministically for a seed.</summary>
public static class BehaviourFactory
{
    const int SensorSalt = 1;
    const int RoomSalt = 2;
    const int BuildingSalt = 5;

    /// <summary>
    /// One behaviour per sensor, in the layout's order, reporting its kind's metrics. Sensors of one room share its
    /// <see cref="RoomModel"/>, meters of one building its <see cref="BuildingModel"/>. <paramref name="faults"/> gives
    /// each sensor's scheduled faults (none when <c>null</c>).
    /// </summary>
    public static IReadOnlyList<ISensorBehaviour> Create(CampusLayout layout, int seed, Timetable timetable,
        Func<string, SensorFaults>? faults = null)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(timetable);
        faults ??= _ => SensorFaults.None;
        var registry = layout.Registry;
        var rooms = new Dictionary<(string, string), RoomModel>();
        var buildings = new Dictionary<string, BuildingModel>(StringComparer.Ordinal);
        var buildingIndex = 0;
        foreach (var building in registry.Buildings)
        {
            var models = new List<RoomModel>();
            foreach (var room in building.Rooms)
            {
                var model = new RoomModel(room.Capacity, timetable.For(room.Type), Noise.Derive(seed, RoomSalt, rooms.Count));
                rooms.Add((building.Id, room.Id), model);
                models.Add(model);
            }

            buildings.Add(building.Id, new BuildingModel(models, Noise.Derive(seed, BuildingSalt, buildingIndex++)));
        }

        var behaviours = new List<ISensorBehaviour>(layout.Sensors.Count);
        for (var i = 0; i < layout.Sensors.Count; i++)
        {
            var sensor = layout.Sensors[i];
            var random = new Random(Noise.Derive(seed, SensorSalt, i));
            var room = rooms[(sensor.Building, sensor.Room)];
            var building = buildings[sensor.Building];
            var sensorFaults = faults(sensor.Id);
            ISensorBehaviour behaviour = sensor.Model switch
            {
                SensorModel.Temperature => new TemperatureBehaviour(room, random),
                SensorModel.Humidity => new HumidityBehaviour(room, random),
                SensorModel.Co2 => new Co2Behaviour(room, random),
                SensorModel.Occupancy => new OccupancyBehaviour(room),
                SensorModel.EnergyMeter => new MeterBehaviour(building.MainsKw, Math.Round(random.Between(50_000, 150_000)), sensorFaults),
                SensorModel.LightingMeter => new MeterBehaviour(building.LightingKw, Math.Round(random.Between(5_000, 20_000)), sensorFaults),
                SensorModel.HvacMeter => new MeterBehaviour(building.HvacKw, Math.Round(random.Between(10_000, 40_000)), sensorFaults),
                SensorModel.Freezer => new FreezerBehaviour(random, sensorFaults),
                SensorModel.FumeHood => new FumeHoodBehaviour(room, random),
                _ => new NoMetrics(),
            };
            behaviours.Add(new KindMetrics(behaviour, registry.Kinds[sensor.Kind], random));
        }

        return behaviours;
    }

    sealed class NoMetrics : ISensorBehaviour
    {
        public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at) => new Dictionary<string, double>();
    }
}
