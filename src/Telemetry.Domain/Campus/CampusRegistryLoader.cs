using Telemetry.Contracts;
using System.Globalization;
using Telemetry.Domain.Configuration;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Reports;

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

    /// <summary>Why <paramref name="id"/> is not a valid registry id, or null if it is.</summary>
    internal static string? IdProblem(string? id)
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

    static readonly string[] TopKeys = ["campus", "unregistered", "comfort", "timetables", "kinds", "buildings"];
    static readonly string[] CampusKeys = ["id", "name", "timezone"];
    static readonly string[] ComfortKeys = ["temperature", "co2", "humidity"];
    static readonly string[] MinMaxKeys = ["min", "max"];
    static readonly string[] MaxKeys = ["max"];
    static readonly string[] KindKeys = ["interval", "metrics", "alerts"];
    static readonly string[] MetricKeys = ["unit", "rollup"];
    static readonly string[] BuildingKeys = ["id", "name", "rooms"];
    static readonly string[] RoomKeys = ["id", "name", "type", "capacity", "sensors"];
    static readonly string[] SensorKeys = ["id", "kind", "replacements"];
    static readonly string[] PeriodKeys = ["days", "from", "to"];
    static readonly string[] ReplacementKeys = ["at", "register"];

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

    // The registry spells rule types and severities as they travel everywhere else (WireName): rate-of-change, critical.
    static readonly Dictionary<string, AlertRuleType> RuleTypeNames = WireNames<AlertRuleType>();

    static readonly Dictionary<string, AlertSeverity> SeverityNames = WireNames<AlertSeverity>();

    static Dictionary<string, T> WireNames<T>() where T : struct, System.Enum =>
        System.Enum.GetValues<T>().ToDictionary(v => WireName.Of(v), StringComparer.Ordinal);

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
            var timetables = ReadTimetables(Optional(map, "timetables"));
            var kindsNode = Required(map, "kinds", "the registry file");
            var (kinds, declaredKinds) = ReadKinds(kindsNode);
            var buildings = ReadBuildings(Required(map, "buildings", "the registry file"), kinds, declaredKinds);
            if (errors.Count > 0 || campus is null)
            {
                return null;
            }
            return new CampusRegistry(campus, policy, comfort, kinds, buildings, timetables);
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

        /// <summary>
        /// <c>timetables:</c> room type → list of <c>{ days, from, to }</c> periods, in the timetable grammar the
        /// simulator's scenarios use (<see cref="YamlReader.TimetableSlot"/>).
        /// </summary>
        Dictionary<string, Timetable> ReadTimetables(YamlTreeNode? node)
        {
            var timetables = new Dictionary<string, Timetable>(StringComparer.Ordinal);
            if (node is null || Mapping(node, "timetables") is not { } map)
            {
                return timetables;
            }
            foreach (var (key, value) in map.Entries)
            {
                var path = $"timetables.{key.Value}";
                if (string.IsNullOrWhiteSpace(key.Value))
                {
                    Error(key, "timetables: a room type must not be empty");
                    continue;
                }
                if (value is YamlTreeScalar { IsNull: true })
                {
                    Error(key, $"{path} needs a list of periods like [ {{ days: mon-fri, from: \"08:00\", to: \"18:00\" }} ]");
                    continue;
                }
                if (Sequence(value, path) is not { } list)
                {
                    continue;
                }
                var slots = new List<TimetableSlot>();
                for (var i = 0; i < list.Items.Count; i++)
                {
                    var periodPath = $"{path}[{i}]";
                    if (Mapping(list.Items[i], periodPath) is not { } period)
                    {
                        continue;
                    }
                    CheckKeys(period, periodPath, PeriodKeys);
                    if (TimetableSlot(period, periodPath) is { } slot)
                    {
                        slots.Add(slot);
                    }
                }
                timetables[key.Value] = new Timetable(slots);
            }
            return timetables;
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
            var intervalNode = Required(map, "interval", what);
            var interval = Duration(intervalNode, $"{what} interval", DurationRule.Any);
            var metrics = ReadMetrics(Required(map, "metrics", what), what);
            var alerts = ReadAlerts(Optional(map, "alerts"), map, what, intervalNode, interval, metrics);
            if (interval is null || metrics is null || alerts is null)
            {
                return null;
            }
            return new SensorKind(id, metrics, alerts);
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
                if (name is not null && !IngestRules.TryValidateMetricName(name, [], out _, out var nameProblem))
                {
                    // The ingest contract's one rule for metric names: a kind must not list a metric no device could send.
                    Error(key, $"{kindWhat}: {nameProblem}; devices could never send it");
                    name = null;
                }

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

        /// <summary>
        /// Reads the rules of a kind and has <see cref="AlertRuleSet.Validate"/> judge them with the kind's interval:
        /// this reader only turns YAML into typed rules (keys, types, numbers, durations) and reports each of the
        /// check's problems at the rule or key it names.
        /// </summary>
        AlertRuleSet? ReadAlerts(YamlTreeNode? node, YamlTreeMapping kindMap, string kindWhat, YamlTreeNode? intervalNode,
            TimeSpan? interval, Dictionary<string, MetricSpec>? metrics)
        {
            var ok = true;
            var read = new List<ReadRuleResult>();
            if (node is not null)
            {
                if (Sequence(node, $"{kindWhat} alerts") is { } sequence)
                {
                    foreach (var item in sequence.Items)
                    {
                        var before = errors.Count;
                        if (ReadRule(item, kindWhat) is { } rule)
                        {
                            read.Add(rule);
                        }
                        ok &= errors.Count == before;
                    }
                }
                else
                {
                    ok = false;
                }
            }
            // A missing or unreadable interval is reported already; the rules are still checked against a stand-in.
            var rules = read.ConvertAll(r => r.Rule);
            var set = AlertRuleSet.TryCreate(interval ?? TimeSpan.FromMinutes(1), rules, metrics?.Keys, out var problems);
            foreach (var problem in problems)
            {
                if (problem.RuleIndex is not { } index)
                {
                    // The only problem of the set itself is the interval; its message starts with the key.
                    Error(intervalNode ?? kindMap, $"{kindWhat} {problem.Message}");
                    continue;
                }
                var (map, rule, unread) = read[index];
                if (unread.Count > 0 && (problem.Key is null || unread.Contains(problem.Key)))
                {
                    // The value is a stand-in for one already reported as unreadable (or the rule as a whole depends on it).
                    continue;
                }
                var at = problem.Key is { } key ? KeyNode(map, key) : map;
                var message = $"{kindWhat} alert rule '{rule.Id}': {problem.Message}";
                if (problem.FirstIndex is { } first)
                {
                    message += $"; first at line {KeyNode(read[first].Map, "id").Line}, again at line {at.Line}";
                }
                Error(at, message);
            }
            return ok ? set : null;
        }

        /// <summary>Where a problem with <paramref name="key"/> is shown: its value, its key if empty, the rule if absent.</summary>
        static YamlTreeNode KeyNode(YamlTreeMapping map, string key) => map.Find(key) switch
        {
            { Value: YamlTreeScalar { IsNull: true } } entry => entry.Key,
            { } entry => entry.Value,
            null => map,
        };

        /// <summary>A rule as read, with the keys whose values could not be read (stand-ins took their place).</summary>
        sealed record ReadRuleResult(YamlTreeMapping Map, AlertRule Rule, HashSet<string> Unread);

        /// <summary>
        /// Turns one rule's YAML into its typed rule. Every key is read (and its syntax reported) so one pass shows all
        /// errors; a key that cannot be read gets a stand-in and is listed as unread. Null without id, type or severity.
        /// </summary>
        ReadRuleResult? ReadRule(YamlTreeNode node, string kindWhat)
        {
            if (Mapping(node, $"{kindWhat} alert rule") is not { } map)
            {
                return null;
            }
            var id = Text(Required(map, "id", $"{kindWhat} alert rule"), "alert rule id");
            var what = $"{kindWhat} alert rule '{id ?? "?"}'";
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
            if (id is null || type is null || severity is not { } level)
            {
                return null;
            }

            var unread = new HashSet<string>(StringComparer.Ordinal);
            T Read<T>(string key, Func<T> read)
            {
                var before = errors.Count;
                var value = read();
                if (errors.Count > before)
                {
                    unread.Add(key);
                }
                return value;
            }
            double? NumberOf(string key) => Read(key, () => Number(Optional(map, key), $"{what} {key}"));
            TimeSpan? DurationOf(string key, bool required = false) => Read(key,
                () => Duration(required ? Required(map, key, what) : Optional(map, key), $"{what} {key}", DurationRule.Any));
            string MetricOf() => Read("metric", () => Text(Required(map, "metric", what), $"{what} metric")) ?? "";

            AlertRule rule = type.Value switch
            {
                AlertRuleType.Threshold => new ThresholdRule(id, level, MetricOf(), NumberOf("above"), NumberOf("below"),
                    NumberOf("hysteresis") ?? 0, DurationOf("for") ?? TimeSpan.Zero, DurationOf("clear-for"), description),
                AlertRuleType.RateOfChange => new RateOfChangeRule(id, level, MetricOf(),
                    Read("rate-per-minute", () => Number(Required(map, "rate-per-minute", what), $"{what} rate-per-minute")) ?? double.NaN,
                    For: DurationOf("for") ?? TimeSpan.Zero, ClearFor: DurationOf("clear-for"), Description: description),
                AlertRuleType.Stuck => new StuckRule(id, level, MetricOf(), DurationOf("for", required: true) ?? TimeSpan.Zero,
                    NumberOf("tolerance") ?? 0, Description: description),
                AlertRuleType.Offline => new OfflineRule(id, level, NumberOf("intervals") ?? OfflineRule.DefaultIntervals,
                    DurationOf("grace"), description),
                _ => new FaultCodeRule(id, level,
                    Read("metric", () => Text(Optional(map, "metric"), $"{what} metric")) ?? FaultCodeRule.DefaultMetric,
                    Description: description),
            };
            return new ReadRuleResult(map, rule, unread);
        }

        List<Building> ReadBuildings(YamlTreeNode? node, Dictionary<string, SensorKind> kinds, HashSet<string> declaredKinds)
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
                        if (ReadRoom(roomItem, what, roomIds, sensorIds, kinds, declaredKinds) is { } room)
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
            Dictionary<string, YamlTreeNode> sensorIds, Dictionary<string, SensorKind> kinds, HashSet<string> declaredKinds)
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
                    if (ReadSensor(sensorItem, what, sensorIds, kinds, declaredKinds) is { } sensor)
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

        Sensor? ReadSensor(YamlTreeNode node, string roomWhat, Dictionary<string, YamlTreeNode> sensorIds,
            Dictionary<string, SensorKind> kinds, HashSet<string> declaredKinds)
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
            var replacements = ReadReplacements(Optional(map, "replacements"), what, kind is null ? null : kinds.GetValueOrDefault(kind));
            return id is null || kind is null ? null : new Sensor(id, kind) { Replacements = replacements };
        }

        /// <summary>
        /// <c>replacements: [ { at: RFC 3339 with offset, register: kWh } ]</c> of a meter with a register (a metric with
        /// rollup energy); sorted by time, no two at the same instant.
        /// </summary>
        List<MeterReplacement> ReadReplacements(YamlTreeNode? node, string sensorWhat, SensorKind? kind)
        {
            var replacements = new List<MeterReplacement>();
            if (node is null || Sequence(node, $"{sensorWhat} replacements") is not { } list)
            {
                return replacements;
            }
            if (kind is not null && !kind.Metrics.Values.Any(m => m.Rollup == RollupRole.Energy))
            {
                Error(node, $"{sensorWhat}: replacements apply to meters with a register (a metric with rollup energy); kind '{kind.Id}' has none");
                return replacements;
            }
            var seen = new Dictionary<long, YamlTreeNode>();
            for (var i = 0; i < list.Items.Count; i++)
            {
                var what = $"{sensorWhat} replacements[{i}]";
                if (Mapping(list.Items[i], what) is not { } map)
                {
                    continue;
                }
                CheckKeys(map, what, ReplacementKeys);
                var atNode = Required(map, "at", what);
                DateTimeOffset? at = null;
                if (Text(atNode, $"{what} at") is { } atText)
                {
                    if (Rfc3339.TryParse(atText, out var parsed))
                    {
                        at = parsed;
                    }
                    else
                    {
                        Error(atNode!, $"{what} at '{atText}' is not a date and time with a UTC offset, e.g. 2026-11-10T09:00:00Z or 2026-11-10T10:00:00+01:00");
                    }
                }
                var register = InRange(Required(map, "register", what), $"{what} register", 0, double.PositiveInfinity);
                if (at is not { } instant || register is not { } start)
                {
                    continue;
                }
                var ms = instant.ToUnixTimeMilliseconds();
                if (seen.TryGetValue(ms, out var first))
                {
                    Error(atNode!, $"{what}: a replacement at {Utc(instant)} is listed twice: first at line {first.Line}, again at line {atNode!.Line}");
                    continue;
                }
                seen.Add(ms, atNode!);
                replacements.Add(new MeterReplacement(ms, start));
            }
            replacements.Sort((a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
            return replacements;

            static string Utc(DateTimeOffset instant) => instant.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
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
