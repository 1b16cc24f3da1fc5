namespace Telemetry.DeviceSim.Campus;

/// <summary>
/// The demo campus: buildings <c>bldg-1..N</c>, each with rooms <c>r101</c>, <c>r102</c>, … (ten rooms a floor)
/// holding a temperature, humidity, CO2 and occupancy sensor, plus one energy meter per building in room <c>plant</c>.
/// Sensor ids are unique across the campus, e.g. <c>bldg-2-r203-co2</c> or <c>bldg-2-plant-energy</c>.
/// The layout depends only on the counts, never on the seed.
/// </summary>
public sealed class CampusLayout
{
    public const string PlantRoom = "plant";
    public const int RoomsPerFloor = 10;

    static readonly (SensorKind Kind, string Suffix)[] RoomSensors =
    [
        (SensorKind.Temperature, "temp"),
        (SensorKind.Humidity, "hum"),
        (SensorKind.Co2, "co2"),
        (SensorKind.Occupancy, "occ"),
    ];

    CampusLayout(IReadOnlyList<string> buildings, IReadOnlyList<SensorInfo> sensors)
    {
        Buildings = buildings;
        Sensors = sensors;
    }

    public IReadOnlyList<string> Buildings { get; }

    /// <summary>Every sensor, building by building and room by room.</summary>
    public IReadOnlyList<SensorInfo> Sensors { get; }

    public static CampusLayout Generate(int buildings, int roomsPerBuilding)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(buildings);
        ArgumentOutOfRangeException.ThrowIfNegative(roomsPerBuilding);

        var buildingIds = new List<string>(buildings);
        var sensors = new List<SensorInfo>(buildings * (roomsPerBuilding * RoomSensors.Length + 1));
        for (var b = 1; b <= buildings; b++)
        {
            var building = $"bldg-{b}";
            buildingIds.Add(building);
            for (var r = 0; r < roomsPerBuilding; r++)
            {
                var room = RoomName(r);
                foreach (var (kind, suffix) in RoomSensors)
                {
                    sensors.Add(new SensorInfo($"{building}-{room}-{suffix}", building, room, kind));
                }
            }

            sensors.Add(new SensorInfo($"{building}-{PlantRoom}-energy", building, PlantRoom, SensorKind.Energy));
        }

        return new CampusLayout(buildingIds, sensors);
    }

    /// <summary>Room 0 is <c>r101</c>, room 9 is <c>r110</c>, room 10 is <c>r201</c>.</summary>
    static string RoomName(int index) => $"r{index / RoomsPerFloor + 1}{index % RoomsPerFloor + 1:00}";
}
