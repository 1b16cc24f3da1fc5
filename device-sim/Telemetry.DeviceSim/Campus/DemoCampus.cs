using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;

namespace Telemetry.DeviceSim.Campus;

/// <summary>
/// The demo campus's sensor kinds (as in deploy/campus.yaml) and a generated campus built from them, so that the
/// simulator runs without a registry file: buildings <c>bldg-1..N</c>, classrooms <c>r101</c>, <c>r102</c>, … (ten a
/// floor) with a temperature, humidity, CO2 and occupancy sensor each, optional labs <c>lab1</c>, … with two freezers
/// and a fume hood, and a <c>plant</c> room with the mains meter and the lighting and HVAC sub-meters.
/// The campus depends only on the counts, never on the seed.
/// </summary>
public static class DemoCampus
{
    public const string PlantRoom = "plant";
    public const int RoomsPerFloor = 10;
    public const string TimeZone = "Europe/Berlin";

    public const string TemperatureKind = "temperature";
    public const string HumidityKind = "humidity";
    public const string Co2Kind = "co2";
    public const string OccupancyKind = "occupancy";
    public const string EnergyMeterKind = "energy-meter";
    public const string SubMeterKind = "sub-meter";
    public const string FreezerKind = "freezer";
    public const string FumeHoodKind = "fume-hood";

    /// <summary>The kinds of the demo campus, with their metrics, intervals and alert rules.</summary>
    public static IReadOnlyDictionary<string, SensorKind> Kinds { get; } = CreateKinds();

    public static CampusRegistry Generate(int buildings, int roomsPerBuilding, int labsPerBuilding = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(buildings);
        ArgumentOutOfRangeException.ThrowIfNegative(roomsPerBuilding);
        ArgumentOutOfRangeException.ThrowIfNegative(labsPerBuilding);
        var list = new List<Building>(buildings);
        for (var b = 1; b <= buildings; b++)
        {
            var building = $"bldg-{b}";
            var rooms = new List<Room>();
            for (var r = 0; r < roomsPerBuilding; r++)
            {
                var room = RoomName(r);
                rooms.Add(new Room(room, $"Room {room[1..]}", "classroom", 30 + r * 37 % 91,
                    [Sensor(building, room, "temp", TemperatureKind), Sensor(building, room, "hum", HumidityKind),
                     Sensor(building, room, "co2", Co2Kind), Sensor(building, room, "occ", OccupancyKind)]));
            }

            for (var l = 1; l <= labsPerBuilding; l++)
            {
                var room = $"lab{l}";
                rooms.Add(new Room(room, $"Lab {l}", "lab", 24,
                    [Sensor(building, room, "temp", TemperatureKind), Sensor(building, room, "co2", Co2Kind),
                     Sensor(building, room, "occ", OccupancyKind), Sensor(building, room, "freezer1", FreezerKind),
                     Sensor(building, room, "freezer2", FreezerKind), Sensor(building, room, "hood1", FumeHoodKind)]));
            }

            rooms.Add(new Room(PlantRoom, "Plant room", "plant", 0,
                [Sensor(building, PlantRoom, "energy", EnergyMeterKind), Sensor(building, PlantRoom, "lighting", SubMeterKind),
                 Sensor(building, PlantRoom, "hvac", SubMeterKind)]));
            list.Add(new Building(building, $"Building {b}", rooms));
        }

        return new CampusRegistry(new CampusInfo("demo", "Demo Campus", TimeZone), UnregisteredPolicy.Accept,
            ComfortBands.Default, Kinds, list);
    }

    /// <summary>Room 0 is <c>r101</c>, room 9 is <c>r110</c>, room 10 is <c>r201</c>.</summary>
    public static string RoomName(int index) => $"r{index / RoomsPerFloor + 1}{index % RoomsPerFloor + 1:00}";

    static Sensor Sensor(string building, string room, string suffix, string kind) => new($"{building}-{room}-{suffix}", kind);

    static Dictionary<string, SensorKind> CreateKinds()
    {
        var minute = TimeSpan.FromMinutes(1);
        var halfMinute = TimeSpan.FromSeconds(30);
        var offline = new OfflineRule("offline", AlertSeverity.Warning, Intervals: 1.5);
        var battery = ("battery", new MetricSpec("%", RollupRole.None));
        var rssi = ("rssi", new MetricSpec("dBm", RollupRole.None));
        SensorKind[] kinds =
        [
            Kind(TemperatureKind, minute, [("temperature", new MetricSpec("°C", RollupRole.Temperature)), battery, rssi],
                new StuckRule("temp-stuck", AlertSeverity.Warning, "temperature", TimeSpan.FromHours(2), Tolerance: 0.01),
                offline),
            Kind(HumidityKind, minute, [("humidity", new MetricSpec("%", RollupRole.Humidity)), battery, rssi], offline),
            Kind(Co2Kind, minute, [("co2", new MetricSpec("ppm", RollupRole.Co2)), battery, rssi],
                new ThresholdRule("co2-high", AlertSeverity.Warning, "co2", Above: 1500, Hysteresis: 200, For: TimeSpan.FromMinutes(10)),
                offline),
            Kind(OccupancyKind, minute, [("people", new MetricSpec("count", RollupRole.People)), battery, rssi], offline),
            Kind(EnergyMeterKind, minute, [("power", new MetricSpec("kW", RollupRole.Power)), ("energy", new MetricSpec("kWh", RollupRole.Energy))],
                offline,
                new StuckRule("meter-stuck", AlertSeverity.Warning, "energy", TimeSpan.FromHours(1))),
            Kind(SubMeterKind, minute, [("power", new MetricSpec("kW", RollupRole.None)), ("energy", new MetricSpec("kWh", RollupRole.None))], offline),
            Kind(FreezerKind, halfMinute,
                [("temperature", new MetricSpec("°C", RollupRole.None)), ("compressor", new MetricSpec("state", RollupRole.None)), ("fault", new MetricSpec("code", RollupRole.None))],
                new ThresholdRule("freezer-warm", AlertSeverity.Critical, "temperature", Above: -15, Hysteresis: 2, For: TimeSpan.FromMinutes(5), Description: "Freezer is warming up"),
                new FaultCodeRule("freezer-fault", AlertSeverity.Critical, "fault"),
                offline with { Grace = TimeSpan.FromSeconds(60) }),
            Kind(FumeHoodKind, halfMinute,
                [("airflow", new MetricSpec("m/s", RollupRole.None)), ("sash", new MetricSpec("%", RollupRole.None)), ("fault", new MetricSpec("code", RollupRole.None))],
                new ThresholdRule("airflow-low", AlertSeverity.Critical, "airflow", Below: 0.4, Hysteresis: 0.05, For: TimeSpan.FromMinutes(2)),
                new FaultCodeRule("hood-fault", AlertSeverity.Warning, "fault"),
                offline),
        ];
        return kinds.ToDictionary(k => k.Id, StringComparer.Ordinal);
    }

    static SensorKind Kind(string id, TimeSpan interval, (string Name, MetricSpec Spec)[] metrics, params AlertRule[] alerts) =>
        SensorKind.Create(id, metrics.ToDictionary(m => m.Name, m => m.Spec, StringComparer.Ordinal), interval, alerts);
}
