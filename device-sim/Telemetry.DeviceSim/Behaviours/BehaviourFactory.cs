using Telemetry.DeviceSim.Campus;

namespace Telemetry.DeviceSim.Behaviours;

/// <summary>Gives every sensor of a layout its behaviour, deterministically for a seed.</summary>
public static class BehaviourFactory
{
    const int SensorSalt = 1;
    const int RoomSalt = 2;

    /// <summary>One behaviour per sensor, in the layout's order. Sensors of one room share its occupancy.</summary>
    public static IReadOnlyList<ISensorBehaviour> Create(CampusLayout layout, int seed)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var rooms = new Dictionary<(string, string), RoomOccupancy>();
        var behaviours = new List<ISensorBehaviour>(layout.Sensors.Count);
        for (var i = 0; i < layout.Sensors.Count; i++)
        {
            var sensor = layout.Sensors[i];
            var random = new Random(Noise.Derive(seed, SensorSalt, i));
            behaviours.Add(sensor.Kind switch
            {
                SensorKind.Temperature => new TemperatureBehaviour(random),
                SensorKind.Humidity => new HumidityBehaviour(random),
                SensorKind.Co2 => new Co2Behaviour(Room(sensor), random),
                SensorKind.Occupancy => new OccupancyBehaviour(Room(sensor)),
                SensorKind.Energy => new EnergyMeterBehaviour(random),
                _ => throw new ArgumentOutOfRangeException(nameof(layout), sensor.Kind, "Unknown sensor kind."),
            });
        }

        return behaviours;

        RoomOccupancy Room(SensorInfo sensor)
        {
            if (!rooms.TryGetValue((sensor.Building, sensor.Room), out var room))
            {
                var key = Noise.Derive(seed, RoomSalt, rooms.Count);
                room = new RoomOccupancy(capacity: new Random(key).Next(8, 41), key);
                rooms.Add((sensor.Building, sensor.Room), room);
            }

            return room;
        }
    }
}
