using Telemetry.Contracts;
using System.Globalization;
using Telemetry.Domain.Configuration;

namespace Telemetry.Domain.Campus;

/// <summary>
/// Reads the campus registry file (format: docs/registry.md). Pure: takes the text, returns a registry or every error
/// found, each with the line and column of the node at fault. Never throws on bad input.
/// </summary>
public static class CampusRegistryLoader
{
    /// <summary>Longest id accepted for campus, buildings, rooms, sensors, kinds, metrics and rules.</summary>
    public const int MaxIdLength = 64;

    /// <summary>Default room type when a room does not say.</summary>
    public const string DefaultRoomType = "room";

    /// <summary>Default campus time zone when the file does not say.</summary>
    public const string DefaultTimeZone = "UTC";

    /// <summary>Default metric of a fault-code rule.</summary>
    public const string DefaultFaultMetric = "fault";

    /// <summary>Default number of reporting intervals without data before an offline rule fires.</summary>
    public const double DefaultOfflineIntervals = 1.5;

    public static CampusRegistryLoadResult Load(string yaml, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var source = string.IsNullOrWhiteSpace(sourceName) ? "registry" : sourceName;
        var errors = new List<YamlError>();
        var root = YamlTree.Parse(yaml, source, errors);
        CampusRegistry? registry = null;
        if (root is null)
        {
            if (errors.Count == 0)
            {
                errors.Add(new YamlError(source, 1, 1, "the file is empty; expected a mapping with the keys campus, kinds and buildings"));
            }
        }
        else
        {
            registry = new Reader(source, errors).ReadRegistry(root);
        }
        var sorted = YamlError.InFileOrder(errors);
        return new CampusRegistryLoadResult(sorted.Length == 0 ? registry : null, sorted);
    }

    /// <summary>Whether <paramref name="id"/> is a valid registry id (1..64 printable characters, none of / + # \ or whitespace).</summary>
    public static bool IsValidId(string? id) => IdProblem(id) is null;

    static string? IdProblem(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return "it is empty";
        }
        if (id.Length > MaxIdLength)
        {
            return $"it is {id.Length} characters long, at most {MaxIdLength} are allowed";
        }
        foreach (var c in id)
        {
            if (c is '/' or '+' or '#' or '\\')
            {
                return $"it contains '{c}' (ids become MQTT topic segments; / + # and \\ are not allowed)";
            }
            if (char.IsWhiteSpace(c))
            {
                return "it contains whitespace";
            }
            if (char.IsControl(c))
            {
                return "it contains a control character";
            }
        }
        return null;
    }

    static readonly string[] TopKeys = ["campus", "unregistered", "comfort", "kinds", "buildings"];
    static readonly string[] CampusKeys = ["id", "name", "timezone"];
    static readonly string[] ComfortKeys = ["temperature", "co2", "humidity"];
    static readonly string[] MinMaxKeys = ["min", "max"];
    static readonly string[] MaxKeys = ["max"];
    static readonly string[] KindKeys = ["interval", "metrics", "alerts"];
    static readonly string[] MetricKeys = ["unit", "rollup"];
    static readonly string[] BuildingKeys = ["id", "name", "rooms"];
    static readonly string[] RoomKeys = ["id", "name", "type", "capacity", "sensors"];
    static readonly string[] SensorKeys = ["id", "kind"];

    static readonly string[] CommonRuleKeys = ["id", "type", "severity", "description"];
    static readonly Dictionary<AlertRuleType, string[]> RuleKeys = new()
    {
        [AlertRuleType.Threshold] = [.. CommonRuleKeys, "metric", "above", "below", "hysteresis", "for", "clear-for"],
        [AlertRuleType.RateOfChange] = [.. CommonRuleKeys, "metric", "rate-per-minute", "for", "clear-for"],
        [AlertRuleType.Stuck] = [.. CommonRuleKeys, "metric", "for", "tolerance"],
        [AlertRuleType.Offline] = [.. CommonRuleKeys, "intervals", "grace"],
        [AlertRuleType.FaultCode] = [.. CommonRuleKeys, "metric"],
    };
    static readonly string[] AllRuleKeys = [.. RuleKeys.Values.SelectMany(k => k).Distinct(StringComparer.Ordinal)];

    static readonly Dictionary<string, UnregisteredPolicy> PolicyNames = new(StringComparer.Ordinal)
    {
        ["accept"] = UnregisteredPolicy.Accept,
        ["refuse"] = UnregisteredPolicy.Refuse,
    };

    static readonly Dictionary<string, RollupRole> RollupNames = new(StringComparer.Ordinal)
    {
        ["none"] = RollupRole.None,
        ["people"] = RollupRole.People,
        ["temperature"] = RollupRole.Temperature,
        ["humidity"] = RollupRole.Humidity,
        ["co2"] = RollupRole.Co2,
        ["power"] = RollupRole.Power,
        ["energy"] = RollupRole.Energy,
    };

    static readonly Dictionary<string, AlertRuleType> RuleTypeNames = new(StringComparer.Ordinal)
    {
        ["threshold"] = AlertRuleType.Threshold,
        ["rate-of-change"] = AlertRuleType.RateOfChange,
        ["stuck"] = AlertRuleType.Stuck,
        ["offline"] = AlertRuleType.Offline,
        ["fault-code"] = AlertRuleType.FaultCode,
    };

    static readonly Dictionary<string, AlertSeverity> SeverityNames = new(StringComparer.Ordinal)
    {
        ["info"] = AlertSeverity.Info,
        ["warning"] = AlertSeverity.Warning,
        ["critical"] = AlertSeverity.Critical,
    };

    /// <summary>Walks the tree once, collecting every error instead of stopping at the first.</summary>
    sealed class Reader : YamlReader
    {
        readonly List<YamlError> errors;

        public Reader(string source, List<YamlError> errors) : base(source, errors) => this.errors = errors;

        public CampusRegistry? ReadRegistry(YamlTreeNode root)
        {
            if (Mapping(root, "the registry file") is not { } map)
            {
                return null;
            }
            CheckKeys(map, "the top level", TopKeys);
            var campus = ReadCampus(Required(map, "campus", "the registry file"));
            var policy = Enum(Optional(map, "unregistered"), "unregistered policy", PolicyNames) ?? UnregisteredPolicy.Accept;
            var comfort = ReadComfort(Optional(map, "comfort"));
            var kindsNode = Required(map, "kinds", "the registry file");
            var (kinds, declaredKinds) = ReadKinds(kindsNode);
            var buildings = ReadBuildings(Required(map, "buildings", "the registry file"), declaredKinds);
            if (errors.Count > 0 || campus is null)
            {
                return null;
            }
            return new CampusRegistry(campus, policy, comfort, kinds, buildings);
        }

        CampusInfo? ReadCampus(YamlTreeNode? node)
        {
            if (node is null || Mapping(node, "campus") is not { } map)
            {
                return null;
            }
            CheckKeys(map, "campus", CampusKeys);
            var id = Id(Required(map, "id", "campus"), "campus id");
            var name = Text(Optional(map, "name"), "campus name");
            var zoneNode = Optional(map, "timezone");
            var zone = Text(zoneNode, "campus timezone") ?? DefaultTimeZone;
            if (zoneNode is YamlTreeScalar && !TimeZoneExists(zone))
            {
                Error(zoneNode, $"unknown time zone '{zone}'; use an IANA id such as Europe/Berlin or UTC");
            }
            return id is null ? null : new CampusInfo(id, string.IsNullOrWhiteSpace(name) ? id : name, zone);
        }

        static bool TimeZoneExists(string zone)
        {
            try
            {
                TimeZoneInfo.FindSystemTimeZoneById(zone);
                return true;
            }
            catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
            {
                return false;
            }
        }

        ComfortBands ReadComfort(YamlTreeNode? node)
        {
            var d = ComfortBands.Default;
            if (node is null || Mapping(node, "comfort") is not { } map)
            {
                return d;
            }
            CheckKeys(map, "comfort", ComfortKeys);
            var (tMin, tMax) = Band(Optional(map, "temperature"), "comfort temperature", d.TemperatureMinC, d.TemperatureMaxC,
                hasMin: true, floor: double.NegativeInfinity, ceiling: double.PositiveInfinity);
            var (_, co2Max) = Band(Optional(map, "co2"), "comfort co2", 0, d.Co2MaxPpm,
                hasMin: false, floor: double.Epsilon, ceiling: double.PositiveInfinity);
            var (hMin, hMax) = Band(Optional(map, "humidity"), "comfort humidity", d.HumidityMinPercent, d.HumidityMaxPercent,
                hasMin: true, floor: 0, ceiling: 100);
            return new ComfortBands(tMin, tMax, co2Max, hMin, hMax);
        }

        (double Min, double Max) Band(YamlTreeNode? node, string what, double min, double max, bool hasMin, double floor, double ceiling)
        {
            if (node is null || Mapping(node, what) is not { } map)
            {
                return (min, max);
            }
            CheckKeys(map, what, hasMin ? MinMaxKeys : MaxKeys);
            var minNode = hasMin ? Optional(map, "min") : null;
            var maxNode = Optional(map, "max");
            var lo = InRange(minNode, $"{what} min", floor, ceiling) ?? min;
            var hi = InRange(maxNode, $"{what} max", floor, ceiling) ?? max;
            if (hasMin && lo > hi)
            {
                Error(minNode ?? maxNode ?? map, $"{what}: min ({lo}) is greater than max ({hi})");
            }
            return (lo, hi);
        }

        (Dictionary<string, SensorKind> Kinds, HashSet<string> Declared) ReadKinds(YamlTreeNode? node)
        {
            var kinds = new Dictionary<string, SensorKind>(StringComparer.Ordinal);
            var declared = new HashSet<string>(StringComparer.Ordinal);
            if (node is null || Mapping(node, "kinds") is not { } map)
            {
                return (kinds, declared);
            }
            foreach (var (key, value) in map.Entries)
            {
                var id = Id(key, "kind id");
                // A kind with errors of its own still counts as declared, so its sensors are not also reported as unknown.
                declared.Add(key.Value);
                var kind = ReadKind(key.Value, value);
                if (id is not null && kind is not null)
                {
                    kinds[id] = kind;
                }
            }
            return (kinds, declared);
        }

        SensorKind? ReadKind(string id, YamlTreeNode node)
        {
            var what = $"kind '{id}'";
            if (Mapping(node, what) is not { } map)
            {
                return null;
            }
            CheckKeys(map, what, KindKeys);
            var interval = Duration(Required(map, "interval", what), $"{what} interval", DurationRule.Positive);
            var metrics = ReadMetrics(Required(map, "metrics", what), what);
            var alerts = ReadAlerts(Optional(map, "alerts"), what, metrics);
            if (interval is null || metrics is null || alerts is null)
            {
                return null;
            }
            return new SensorKind(id, metrics, interval.Value, alerts);
        }

        Dictionary<string, MetricSpec>? ReadMetrics(YamlTreeNode? node, string kindWhat)
        {
            if (node is null || Mapping(node, $"{kindWhat} metrics") is not { } map)
            {
                return null;
            }
            if (map.Entries.Count == 0)
            {
                Error(map, $"{kindWhat} has no metrics; list at least one (name: {{ unit: …, rollup: … }})");
                return null;
            }
            var metrics = new Dictionary<string, MetricSpec>(StringComparer.Ordinal);
            var ok = true;
            foreach (var (key, value) in map.Entries)
            {
                var name = Id(key, "metric name");
                var what = $"{kindWhat} metric '{key.Value}'";
                if (Mapping(value, what) is not { } spec)
                {
                    ok = false;
                    continue;
                }
                CheckKeys(spec, what, MetricKeys);
                var unitNode = Required(spec, "unit", what);
                var unit = Text(unitNode, $"{what} unit");
                if (unit is not null && string.IsNullOrWhiteSpace(unit))
                {
                    Error(unitNode!, $"{what} unit must not be empty");
                    unit = null;
                }
                var rollup = Enum(Optional(spec, "rollup"), "rollup role", RollupNames) ?? RollupRole.None;
                if (name is null || unit is null)
                {
                    ok = false;
                    continue;
                }
                metrics[name] = new MetricSpec(unit, rollup);
            }
            // Keep the metrics even when one is broken: rules naming the good ones should not report spurious errors.
            return ok || metrics.Count > 0 ? metrics : null;
        }

        List<AlertRuleSpec>? ReadAlerts(YamlTreeNode? node, string kindWhat, Dictionary<string, MetricSpec>? metrics)
        {
            if (node is null)
            {
                return [];
            }
            if (Sequence(node, $"{kindWhat} alerts") is not { } sequence)
            {
                return null;
            }
            var rules = new List<AlertRuleSpec>();
            var seen = new Dictionary<string, YamlTreeNode>(StringComparer.Ordinal);
            var ok = true;
            foreach (var item in sequence.Items)
            {
                var rule = ReadRule(item, kindWhat, metrics, seen);
                if (rule is null)
                {
                    ok = false;
                }
                else
                {
                    rules.Add(rule);
                }
            }
            return ok ? rules : null;
        }

        AlertRuleSpec? ReadRule(YamlTreeNode node, string kindWhat, Dictionary<string, MetricSpec>? metrics, Dictionary<string, YamlTreeNode> seen)
        {
            if (Mapping(node, $"{kindWhat} alert rule") is not { } map)
            {
                return null;
            }
            var idNode = Required(map, "id", $"{kindWhat} alert rule");
            var id = Id(idNode, "alert rule id");
            var what = $"{kindWhat} alert rule '{id ?? "?"}'";
            var unique = id is not null;
            if (id is not null)
            {
                if (seen.TryGetValue(id, out var first))
                {
                    Error(idNode!, $"duplicate alert rule id '{id}' in {kindWhat}: first at line {first.Line}, again at line {idNode!.Line}");
                    unique = false;
                }
                else
                {
                    seen.Add(id, idNode!);
                }
            }
            var type = Enum(Required(map, "type", what), "alert rule type", RuleTypeNames);
            if (type is { } known)
            {
                CheckKeys(map, what, RuleKeys[known], $"allowed keys for a {Name(RuleTypeNames, known)} rule");
            }
            else
            {
                CheckKeys(map, what, AllRuleKeys);
            }
            var severity = Enum(Required(map, "severity", what), "severity", SeverityNames);
            var description = Text(Optional(map, "description"), $"{what} description");
            if (type is null)
            {
                return null;
            }

            var metricNode = Optional(map, "metric");
            string? metric = null;
            if (type is not AlertRuleType.Offline)
            {
                metric = type is AlertRuleType.FaultCode
                    ? Text(metricNode, $"{what} metric") ?? DefaultFaultMetric
                    : Text(Required(map, "metric", what), $"{what} metric");
                if (metric is not null && metrics is not null && !metrics.ContainsKey(metric))
                {
                    var hint = metricNode is null ? $" (a fault-code rule uses metric '{DefaultFaultMetric}' unless it names one)" : "";
                    Error(metricNode ?? map,
                        $"{what}: '{metric}' is not a metric of {kindWhat}{hint}; its metrics are: {string.Join(", ", metrics.Keys)}");
                }
            }

            var before = errors.Count;
            AlertRuleSpec? rule = null;
            switch (type.Value)
            {
                case AlertRuleType.Threshold:
                {
                    var aboveNode = Optional(map, "above");
                    var belowNode = Optional(map, "below");
                    var above = Number(aboveNode, $"{what} above");
                    var below = Number(belowNode, $"{what} below");
                    if (aboveNode is null && belowNode is null)
                    {
                        Error(map, $"{what}: a threshold rule needs 'above' and/or 'below'");
                    }
                    if (above is not null && below is not null && below >= above)
                    {
                        Error(belowNode!, $"{what}: below ({below}) must be less than above ({above}), or the rule would always fire");
                    }
                    var hysteresis = NonNegative(Optional(map, "hysteresis"), $"{what} hysteresis") ?? 0;
                    var holdFor = Duration(Optional(map, "for"), $"{what} for", DurationRule.NonNegative) ?? TimeSpan.Zero;
                    var clearFor = Duration(Optional(map, "clear-for"), $"{what} clear-for", DurationRule.NonNegative) ?? holdFor;
                    rule = new AlertRuleSpec(id!, type.Value, severity ?? default, metric, above, below, hysteresis, holdFor, clearFor,
                        Description: description);
                    break;
                }
                case AlertRuleType.RateOfChange:
                {
                    var rateNode = Required(map, "rate-per-minute", what);
                    var rate = Number(rateNode, $"{what} rate-per-minute");
                    if (rate is <= 0)
                    {
                        Error(rateNode!, $"{what} rate-per-minute must be greater than 0, not {rate}");
                    }
                    var holdFor = Duration(Optional(map, "for"), $"{what} for", DurationRule.NonNegative) ?? TimeSpan.Zero;
                    var clearFor = Duration(Optional(map, "clear-for"), $"{what} clear-for", DurationRule.NonNegative) ?? holdFor;
                    rule = new AlertRuleSpec(id!, type.Value, severity ?? default, metric, For: holdFor, ClearFor: clearFor,
                        RatePerMinute: rate, Description: description);
                    break;
                }
                case AlertRuleType.Stuck:
                {
                    var holdFor = Duration(Required(map, "for", what), $"{what} for", DurationRule.Positive) ?? TimeSpan.Zero;
                    var tolerance = NonNegative(Optional(map, "tolerance"), $"{what} tolerance") ?? 0;
                    rule = new AlertRuleSpec(id!, type.Value, severity ?? default, metric, For: holdFor, Tolerance: tolerance,
                        Description: description);
                    break;
                }
                case AlertRuleType.Offline:
                {
                    var intervalsNode = Optional(map, "intervals");
                    var intervals = Number(intervalsNode, $"{what} intervals") ?? DefaultOfflineIntervals;
                    if (intervals <= 0)
                    {
                        Error(intervalsNode!, $"{what} intervals must be greater than 0, not {intervals}");
                    }
                    var grace = Duration(Optional(map, "grace"), $"{what} grace", DurationRule.Positive);
                    rule = new AlertRuleSpec(id!, type.Value, severity ?? default, Intervals: intervals, Grace: grace,
                        Description: description);
                    break;
                }
                case AlertRuleType.FaultCode:
                    rule = new AlertRuleSpec(id!, type.Value, severity ?? default, metric, Description: description);
                    break;
            }
            var complete = unique && severity is not null && (metric is not null || type is AlertRuleType.Offline);
            return errors.Count == before && complete ? rule : null;
        }

        List<Building> ReadBuildings(YamlTreeNode? node, HashSet<string> declaredKinds)
        {
            var buildings = new List<Building>();
            if (node is null || Sequence(node, "buildings") is not { } sequence)
            {
                return buildings;
            }
            var buildingIds = new Dictionary<string, YamlTreeNode>(StringComparer.Ordinal);
            var sensorIds = new Dictionary<string, YamlTreeNode>(StringComparer.Ordinal);
            foreach (var item in sequence.Items)
            {
                if (Mapping(item, "building") is not { } map)
                {
                    continue;
                }
                CheckKeys(map, "building", BuildingKeys);
                var idNode = Required(map, "id", "building");
                var id = Unique(Id(idNode, "building id"), idNode, buildingIds, "building id", "");
                var what = $"building '{id ?? "?"}'";
                var name = Text(Optional(map, "name"), $"{what} name");
                var rooms = new List<Room>();
                if (Optional(map, "rooms") is { } roomsNode && Sequence(roomsNode, $"{what} rooms") is { } roomItems)
                {
                    var roomIds = new Dictionary<string, YamlTreeNode>(StringComparer.Ordinal);
                    foreach (var roomItem in roomItems.Items)
                    {
                        if (ReadRoom(roomItem, what, roomIds, sensorIds, declaredKinds) is { } room)
                        {
                            rooms.Add(room);
                        }
                    }
                }
                if (id is not null)
                {
                    buildings.Add(new Building(id, string.IsNullOrWhiteSpace(name) ? id : name, rooms));
                }
            }
            return buildings;
        }

        Room? ReadRoom(YamlTreeNode node, string buildingWhat, Dictionary<string, YamlTreeNode> roomIds,
            Dictionary<string, YamlTreeNode> sensorIds, HashSet<string> declaredKinds)
        {
            if (Mapping(node, $"{buildingWhat} room") is not { } map)
            {
                return null;
            }
            CheckKeys(map, $"{buildingWhat} room", RoomKeys);
            var idNode = Required(map, "id", $"{buildingWhat} room");
            var id = Unique(Id(idNode, "room id"), idNode, roomIds, "room id", $" in {buildingWhat}");
            var what = $"{buildingWhat} room '{id ?? "?"}'";
            var name = Text(Optional(map, "name"), $"{what} name");
            var type = Text(Optional(map, "type"), $"{what} type");
            var capacityNode = Optional(map, "capacity");
            var capacity = Integer(capacityNode, $"{what} capacity") ?? 0;
            if (capacity < 0)
            {
                Error(capacityNode!, $"{what} capacity must not be negative, not {capacity}");
            }
            var sensors = new List<Sensor>();
            if (Optional(map, "sensors") is { } sensorsNode && Sequence(sensorsNode, $"{what} sensors") is { } sensorItems)
            {
                foreach (var sensorItem in sensorItems.Items)
                {
                    if (ReadSensor(sensorItem, what, sensorIds, declaredKinds) is { } sensor)
                    {
                        sensors.Add(sensor);
                    }
                }
            }
            if (id is null)
            {
                return null;
            }
            return new Room(id, string.IsNullOrWhiteSpace(name) ? id : name, string.IsNullOrWhiteSpace(type) ? DefaultRoomType : type,
                capacity, sensors);
        }

        Sensor? ReadSensor(YamlTreeNode node, string roomWhat, Dictionary<string, YamlTreeNode> sensorIds, HashSet<string> declaredKinds)
        {
            if (Mapping(node, $"{roomWhat} sensor") is not { } map)
            {
                return null;
            }
            CheckKeys(map, $"{roomWhat} sensor", SensorKeys);
            var idNode = Required(map, "id", $"{roomWhat} sensor");
            var id = Unique(Id(idNode, "sensor id"), idNode, sensorIds, "sensor id", " (sensor ids are campus-unique)");
            var what = $"sensor '{id ?? "?"}'";
            var kindNode = Required(map, "kind", what);
            var kind = Text(kindNode, $"{what} kind");
            if (kind is not null && !declaredKinds.Contains(kind))
            {
                var known = declaredKinds.Count == 0 ? "no kinds are defined" : "defined kinds: " + string.Join(", ", declaredKinds);
                Error(kindNode!, $"{what}: unknown kind '{kind}'; {known}");
                return null;
            }
            return id is null || kind is null ? null : new Sensor(id, kind);
        }

        string? Unique(string? id, YamlTreeNode? node, Dictionary<string, YamlTreeNode> seen, string what, string scope)
        {
            if (id is null)
            {
                return null;
            }
            if (seen.TryGetValue(id, out var first))
            {
                Error(node!, $"duplicate {what} '{id}'{scope}: first at line {first.Line}, again at line {node!.Line}");
                return null;
            }
            seen.Add(id, node!);
            return id;
        }

        // ---- node access and scalar conversion ----

        string? Id(YamlTreeNode? node, string what)
        {
            var text = Text(node, what);
            if (text is null)
            {
                return null;
            }
            if (IdProblem(text) is { } problem)
            {
                Error(node!, $"{what} '{text}' is not a valid id: {problem}");
                return null;
            }
            return text;
        }

        double? NonNegative(YamlTreeNode? node, string what)
        {
            var value = Number(node, what);
            if (value < 0)
            {
                Error(node!, $"{what} must not be negative, not {value}");
                return null;
            }
            return value;
        }

        int? Integer(YamlTreeNode? node, string what)
        {
            var text = Text(node, what);
            if (text is null)
            {
                return null;
            }
            if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
            Error(node!, $"{what} must be a whole number, not '{text}'");
            return null;
        }

        T? Enum<T>(YamlTreeNode? node, string what, Dictionary<string, T> names) where T : struct, Enum
        {
            var text = Text(node, what);
            if (text is null)
            {
                return null;
            }
            if (names.TryGetValue(text, out var value))
            {
                return value;
            }
            Error(node!, $"unknown {what} '{text}'; expected one of: {string.Join(", ", names.Keys)}");
            return null;
        }

        static string Name<T>(Dictionary<string, T> names, T value) where T : struct, Enum =>
            names.First(p => EqualityComparer<T>.Default.Equals(p.Value, value)).Key;
    }
}
