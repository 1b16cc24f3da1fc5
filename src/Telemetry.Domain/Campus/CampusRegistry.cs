using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Reports;

namespace Telemetry.Domain.Campus;

/// <summary>
/// The campus layout as the registry file describes it (see docs/registry.md): buildings, rooms, sensors, the sensor
/// kinds with their metrics, units, expected reporting interval and alert rules. Immutable; a reload builds a new one.
/// </summary>
public sealed class CampusRegistry
{
    readonly Dictionary<string, RegisteredSensor> _sensors;
    readonly Dictionary<string, Building> _buildings;

    public CampusRegistry(
        CampusInfo campus,
        UnregisteredPolicy unregistered,
        ComfortBands comfort,
        IReadOnlyDictionary<string, SensorKind> kinds,
        IReadOnlyList<Building> buildings,
        IReadOnlyDictionary<string, Timetable>? timetables = null)
    {
        ArgumentNullException.ThrowIfNull(campus);
        ArgumentNullException.ThrowIfNull(comfort);
        ArgumentNullException.ThrowIfNull(kinds);
        ArgumentNullException.ThrowIfNull(buildings);
        Campus = campus;
        Unregistered = unregistered;
        Comfort = comfort;
        Kinds = kinds;
        Buildings = buildings;
        Timetables = timetables ?? new Dictionary<string, Timetable>(StringComparer.Ordinal);
        _buildings = buildings.ToDictionary(b => b.Id, StringComparer.Ordinal);
        _sensors = new Dictionary<string, RegisteredSensor>(StringComparer.Ordinal);
        foreach (var building in buildings)
        {
            foreach (var room in building.Rooms)
            {
                foreach (var sensor in room.Sensors)
                {
                    _sensors[sensor.Id] = new RegisteredSensor(sensor, kinds[sensor.Kind], building, room);
                }
            }
        }
    }

    /// <summary>An empty campus: every sensor is unregistered and accepted.</summary>
    public static CampusRegistry Empty { get; } = new(
        new CampusInfo("campus", "Campus", "UTC"), UnregisteredPolicy.Accept, ComfortBands.Default,
        new Dictionary<string, SensorKind>(StringComparer.Ordinal), []);

    public CampusInfo Campus { get; }
    public UnregisteredPolicy Unregistered { get; }
    public ComfortBands Comfort { get; }
    public IReadOnlyDictionary<string, SensorKind> Kinds { get; }
    public IReadOnlyList<Building> Buildings { get; }

    /// <summary>When rooms of a type are timetabled, by room type (registry <c>timetables:</c>); types not listed have none.</summary>
    public IReadOnlyDictionary<string, Timetable> Timetables { get; }

    public IEnumerable<RegisteredSensor> Sensors => _sensors.Values;

    public RegisteredSensor? FindSensor(string sensorId) => _sensors.GetValueOrDefault(sensorId);

    public Building? FindBuilding(string buildingId) => _buildings.GetValueOrDefault(buildingId);

    public Room? FindRoom(string buildingId, string roomId) =>
        FindBuilding(buildingId)?.Rooms.FirstOrDefault(r => string.Equals(r.Id, roomId, StringComparison.Ordinal));
}

/// <summary>The campus itself. <paramref name="TimeZone"/> is an IANA id; day boundaries (kWh per day) use it.</summary>
public sealed record CampusInfo(string Id, string Name, string TimeZone);

/// <summary>What the service does with readings from a sensor id the registry does not list.</summary>
public enum UnregisteredPolicy
{
    /// <summary>Store them, tagged <c>unregistered=true</c>; they feed no roll-up and raise no alert.</summary>
    Accept,
    /// <summary>Refuse the message with reason <c>sensor_not_registered</c>.</summary>
    Refuse,
}

/// <summary>The comfort band a room is judged against.</summary>
public sealed record ComfortBands(
    double TemperatureMinC,
    double TemperatureMaxC,
    double Co2MaxPpm,
    double HumidityMinPercent,
    double HumidityMaxPercent)
{
    public static ComfortBands Default { get; } = new(20, 24, 1000, 30, 60);
}

public sealed record Building(string Id, string Name, IReadOnlyList<Room> Rooms);

/// <summary>A room. <paramref name="Type"/> is free text (classroom, lab, office, plant, …); capacity 0 means unknown.</summary>
public sealed record Room(string Id, string Name, string Type, int Capacity, IReadOnlyList<Sensor> Sensors);

/// <summary>A sensor: campus-unique id and its kind (a key of <see cref="CampusRegistry.Kinds"/>).</summary>
public sealed record Sensor(string Id, string Kind)
{
    /// <summary>Meter replacements recorded for this sensor (registry <c>replacements:</c>), oldest first.</summary>
    public IReadOnlyList<MeterReplacement> Replacements { get; init; } = [];

    /// <summary>Equal when id, kind and the replacements (in order) are equal: two loads of the same file give equal sensors.</summary>
    public bool Equals(Sensor? other) =>
        other is not null && Id == other.Id && Kind == other.Kind && Replacements.SequenceEqual(other.Replacements);

    public override int GetHashCode() => HashCode.Combine(Id, Kind, Replacements.Count);
}

/// <summary>A registered sensor with everything the registry says about it.</summary>
public sealed record RegisteredSensor(Sensor Sensor, SensorKind Kind, Building Building, Room Room)
{
    public string Id => Sensor.Id;
}

/// <summary>
/// A kind of sensor: the metrics it reports (name → spec) and the alert rules every sensor of this kind is checked
/// against, together with how often it is expected to report.
/// </summary>
public sealed record SensorKind(
    string Id,
    IReadOnlyDictionary<string, MetricSpec> Metrics,
    AlertRuleSet Alerts)
{
    /// <summary>How often a sensor of this kind is expected to report (checked with the rules: greater than zero).</summary>
    public TimeSpan Interval => Alerts.Interval;

    /// <summary>A kind written in code; its rules are checked like the registry's (<see cref="AlertRuleSet.Validate"/>).</summary>
    /// <exception cref="ArgumentException">The interval or a rule is invalid.</exception>
    public static SensorKind Create(
        string id,
        IReadOnlyDictionary<string, MetricSpec> metrics,
        TimeSpan interval,
        params IReadOnlyList<AlertRule> alerts)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return new SensorKind(id, metrics, AlertRuleSet.Create(interval, [.. metrics.Keys], alerts));
    }
}

/// <summary>
/// A metric of a kind. <paramref name="Unit"/> is the unit the service stores (e.g. <c>°C</c>, <c>%</c>, <c>ppm</c>,
/// <c>kW</c>, <c>kWh</c>, <c>W</c>, <c>count</c>); <paramref name="Rollup"/> says what the metric contributes to its room's
/// and building's figures.
/// </summary>
public sealed record MetricSpec(string Unit, RollupRole Rollup)
{
    /// <summary>A value of this metric in the unit its rollup is figured in: power in kW (W ÷ 1000), energy in kWh (Wh ÷ 1000).</summary>
    public double InRollupUnit(double value) => (Rollup, Unit) switch
    {
        (RollupRole.Power, "W") => value / 1000,
        (RollupRole.Energy, "Wh") => value / 1000,
        _ => value,
    };
}

/// <summary>What a metric contributes to the room, building and campus figures.</summary>
public enum RollupRole
{
    /// <summary>Nothing (e.g. a freezer's temperature must not count as the room's air temperature).</summary>
    None,
    /// <summary>People in the room now (summed over the room's occupancy sensors).</summary>
    People,
    /// <summary>Room air temperature (averaged over the room's sensors).</summary>
    Temperature,
    /// <summary>Relative humidity (averaged).</summary>
    Humidity,
    /// <summary>CO2 concentration (the highest of the room's sensors).</summary>
    Co2,
    /// <summary>Electrical power now (summed; W or kW by the metric's unit).</summary>
    Power,
    /// <summary>Energy meter register (summed; Wh or kWh by the metric's unit).</summary>
    Energy,
}

