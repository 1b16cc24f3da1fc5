using System.Globalization;
using Telemetry.DeviceSim.Cli;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Telemetry.DeviceSim.Scenarios;

/// <summary>
/// Reads a scenario file. Every problem is reported as <c>{source}:{line}: {what is wrong}</c>; all problems of a file
/// are collected, not only the first.
/// </summary>
public static class ScenarioLoader
{
    static readonly string[] TopLevel = ["registry", "start", "speed", "timetable", "behaviour", "faults"];
    static readonly string[] PeriodKeys = ["days", "from", "to", "occupancy"];
    static readonly string[] BehaviourKeys = ["connectivity-loss", "clock-skew-max", "malformed-rate"];
    static readonly string[] LossKeys = ["probability", "min-duration", "max-duration"];
    static readonly string[] FaultKeys = ["at", "sensor", "fault", "duration", "rate"];

    /// <summary>Reads the file at <paramref name="path"/>; its <c>registry:</c> is resolved against the file's folder.</summary>
    public static ScenarioLoadResult LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string yaml;
        try
        {
            yaml = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ScenarioLoadResult(null, [$"{path}: cannot read the scenario file: {e.Message}"]);
        }

        return Load(yaml, path, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Parses scenario YAML; <paramref name="source"/> names it in errors, <paramref name="baseDirectory"/> anchors <c>registry:</c>.</summary>
    public static ScenarioLoadResult Load(string yaml, string source, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var errors = new List<string>();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            return new ScenarioLoadResult(null, [$"{source}:{e.Start.Line}: not valid YAML: {e.Message}"]);
        }

        if (stream.Documents.Count == 0)
        {
            return new ScenarioLoadResult(new Scenario(), []);
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            return new ScenarioLoadResult(null, [$"{source}:{stream.Documents[0].RootNode.Start.Line}: the scenario must be a mapping of registry, start, speed, timetable, behaviour, faults"]);
        }

        var reader = new Reader(source, errors);
        reader.UnknownKeys(root, TopLevel, "");
        var scenario = new Scenario();
        if (reader.Scalar(root, "registry", "registry") is { } registry)
        {
            scenario = scenario with { Registry = baseDirectory is null ? registry : Path.GetFullPath(Path.Combine(baseDirectory, registry)) };
        }

        if (Get(root, "start") is { } startNode && reader.ScalarOf(startNode, "start") is { } startText)
        {
            if (DateTimeOffset.TryParse(startText, CultureInfo.InvariantCulture, DateTimeStyles.None, out var start) && HasOffset(startText))
            {
                scenario = scenario with { Start = start };
            }
            else
            {
                reader.Error(startNode, $"start: '{startText}' is not a date and time with a UTC offset, e.g. 2026-03-02T06:00:00+01:00 or 2026-03-02T05:00:00Z");
            }
        }

        if (reader.Number(root, "speed", "speed", min: 0.001, max: 1_000_000, minInclusive: true) is { } speed)
        {
            scenario = scenario with { Speed = speed };
        }

        if (Get(root, "timetable") is { } timetable)
        {
            scenario = scenario with { Timetable = ReadTimetable(reader, timetable) };
        }

        if (Get(root, "behaviour") is { } behaviour)
        {
            scenario = scenario with { Behaviour = ReadBehaviour(reader, behaviour) };
        }

        if (Get(root, "faults") is { } faults)
        {
            scenario = scenario with { Faults = ReadFaults(reader, faults) };
        }

        return errors.Count == 0 ? new ScenarioLoadResult(scenario, []) : new ScenarioLoadResult(null, [.. errors.OrderBy(LineOf)]);

        int LineOf(string error) =>
            int.TryParse(error.AsSpan(source.Length + 1, error.IndexOf(':', source.Length + 1) - source.Length - 1), CultureInfo.InvariantCulture, out var line) ? line : 0;
    }

    static bool HasOffset(string text)
    {
        var trimmed = text.Trim();
        return trimmed.EndsWith('Z') || trimmed.EndsWith('z')
               || (trimmed.Length > 6 && trimmed[^6] is '+' or '-' && trimmed[^3] == ':');
    }

    static Timetable? ReadTimetable(Reader reader, YamlNode node)
    {
        if (node is not YamlMappingNode types)
        {
            reader.Error(node, "timetable: must map room types to lists of periods, e.g. classroom: [ { days: mon-fri, from: \"08:15\", to: \"09:45\", occupancy: 0.8 } ]");
            return null;
        }

        var periods = new Dictionary<string, IReadOnlyList<TimetablePeriod>>(StringComparer.Ordinal);
        foreach (var (key, value) in types.Children)
        {
            var roomType = ((YamlScalarNode)key).Value ?? "";
            var path = $"timetable.{roomType}";
            if (value is YamlScalarNode { Value: null or "" })
            {
                periods[roomType] = [];
                continue;
            }

            if (value is not YamlSequenceNode list)
            {
                reader.Error(value, $"{path}: must be a list of periods like {{ days: mon-fri, from: \"08:15\", to: \"09:45\", occupancy: 0.8 }}");
                continue;
            }

            var entries = new List<TimetablePeriod>();
            for (var i = 0; i < list.Children.Count; i++)
            {
                if (ReadPeriod(reader, list.Children[i], $"{path}[{i}]") is { } period)
                {
                    entries.Add(period);
                }
            }

            periods[roomType] = entries;
        }

        return new Timetable(periods);
    }

    static TimetablePeriod? ReadPeriod(Reader reader, YamlNode node, string path)
    {
        if (node is not YamlMappingNode map)
        {
            reader.Error(node, $"{path}: must be a mapping {{ days, from, to, occupancy }}");
            return null;
        }

        reader.UnknownKeys(map, PeriodKeys, path + ".");
        var ok = true;
        IReadOnlySet<DayOfWeek> days = new HashSet<DayOfWeek>();
        TimeOnly from = default, to = default;
        if (reader.Required(map, "days", path) is { } daysNode && reader.ScalarOf(daysNode, $"{path}.days") is { } daysText
            && !TimetablePeriod.TryParseDays(daysText, out days))
        {
            reader.Error(daysNode, $"{path}.days: '{daysText}' is not days like mon-fri, sat, mon,wed,fri or daily");
            ok = false;
        }

        ok &= Time("from", out from) & Time("to", out to);
        var occupancy = reader.Number(map, "occupancy", $"{path}.occupancy", min: 0, max: 1, minInclusive: true);
        if (reader.Required(map, "occupancy", path) is null || occupancy is null || days.Count == 0)
        {
            ok = false;
        }

        if (ok && to <= from)
        {
            reader.Error(map, $"{path}: 'to' ({to:HH\\:mm}) must be after 'from' ({from:HH\\:mm}) on the same day");
            ok = false;
        }

        return ok ? new TimetablePeriod(days, from, to, occupancy!.Value) : null;

        bool Time(string key, out TimeOnly time)
        {
            time = default;
            if (reader.Required(map, key, path) is not { } timeNode || reader.ScalarOf(timeNode, $"{path}.{key}") is not { } text)
            {
                return false;
            }

            if (TimetablePeriod.TryParseTime(text, out time))
            {
                return true;
            }

            reader.Error(timeNode, $"{path}.{key}: '{text}' is not a time like \"08:15\"");
            return false;
        }
    }

    static DeviceBehaviour? ReadBehaviour(Reader reader, YamlNode node)
    {
        if (node is not YamlMappingNode map)
        {
            reader.Error(node, "behaviour: must be a mapping of connectivity-loss, clock-skew-max, malformed-rate");
            return null;
        }

        reader.UnknownKeys(map, BehaviourKeys, "behaviour.");
        var behaviour = new DeviceBehaviour();
        if (Get(map, "connectivity-loss") is { } lossNode)
        {
            if (lossNode is not YamlMappingNode loss)
            {
                reader.Error(lossNode, "behaviour.connectivity-loss: must be a mapping { probability, min-duration, max-duration }");
            }
            else
            {
                reader.UnknownKeys(loss, LossKeys, "behaviour.connectivity-loss.");
                if (reader.Number(loss, "probability", "behaviour.connectivity-loss.probability", 0, 1, minInclusive: true) is { } p)
                {
                    behaviour = behaviour with { ConnectivityLossPerHour = p };
                }

                if (reader.Duration(loss, "min-duration", "behaviour.connectivity-loss.min-duration") is { } min)
                {
                    behaviour = behaviour with { ConnectivityLossMin = min };
                }

                if (reader.Duration(loss, "max-duration", "behaviour.connectivity-loss.max-duration") is { } max)
                {
                    behaviour = behaviour with { ConnectivityLossMax = max };
                }

                if (behaviour.ConnectivityLossMax < behaviour.ConnectivityLossMin)
                {
                    reader.Error(loss, "behaviour.connectivity-loss: max-duration must not be below min-duration");
                }
            }
        }

        if (reader.Duration(map, "clock-skew-max", "behaviour.clock-skew-max", allowZero: true) is { } skew)
        {
            if (skew > TimeSpan.FromMinutes(5))
            {
                reader.Error(Get(map, "clock-skew-max")!, "behaviour.clock-skew-max: at most 5m (the service refuses readings more than 5 minutes ahead)");
            }

            behaviour = behaviour with { ClockSkewMax = skew };
        }

        if (reader.Number(map, "malformed-rate", "behaviour.malformed-rate", 0, 1, minInclusive: true) is { } rate)
        {
            behaviour = behaviour with { MalformedRate = rate };
        }

        return behaviour;
    }

    static List<FaultSpec> ReadFaults(Reader reader, YamlNode node)
    {
        var faults = new List<FaultSpec>();
        if (node is YamlScalarNode { Value: null or "" })
        {
            return faults;
        }

        if (node is not YamlSequenceNode list)
        {
            reader.Error(node, "faults: must be a list like - { at: 2h, sensor: bldg-1-lab1-freezer1, fault: freezer-failure, duration: 1h }");
            return faults;
        }

        for (var i = 0; i < list.Children.Count; i++)
        {
            var path = $"faults[{i}]";
            if (list.Children[i] is not YamlMappingNode map)
            {
                reader.Error(list.Children[i], $"{path}: must be a mapping {{ at, sensor, fault, duration, rate }}");
                continue;
            }

            reader.UnknownKeys(map, FaultKeys, path + ".");
            var at = reader.Required(map, "at", path) is null ? null : reader.Duration(map, "at", $"{path}.at", allowZero: true);
            var duration = reader.Required(map, "duration", path) is null ? null : reader.Duration(map, "duration", $"{path}.duration");
            var sensor = reader.Required(map, "sensor", path) is null ? null : reader.Scalar(map, "sensor", $"{path}.sensor");
            FaultType? type = null;
            if (reader.Required(map, "fault", path) is { } faultNode && reader.ScalarOf(faultNode, $"{path}.fault") is { } name)
            {
                if (FaultTypes.TryParse(name, out var parsed))
                {
                    type = parsed;
                }
                else
                {
                    reader.Error(faultNode, $"{path}.fault: unknown fault '{name}' (one of {string.Join(", ", FaultTypes.Names)})");
                }
            }

            double? rate = null;
            if (Get(map, "rate") is { } rateNode && type is { } t)
            {
                rate = reader.Number(map, "rate", $"{path}.rate", double.MinValue, double.MaxValue, minInclusive: true);
                if (rate is { } r && !FaultSpec.ValidRate(t, r))
                {
                    reader.Error(rateNode, $"{path}.rate: {r.ToString(CultureInfo.InvariantCulture)} is not valid for {t.Name()} ({FaultSpec.RateRule(t)})");
                    rate = null;
                }
            }

            if (at is { } a && duration is { } d && sensor is { } s && type is { } f)
            {
                faults.Add(new FaultSpec(s, f, a, d, rate, $"{reader.Source}:{map.Start.Line}"));
            }
        }

        return faults;
    }

    static YamlNode? Get(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    sealed class Reader(string source, List<string> errors)
    {
        public string Source => source;

        public void Error(YamlNode node, string message) => errors.Add($"{source}:{node.Start.Line}: {message}");

        public void UnknownKeys(YamlMappingNode map, string[] known, string prefix)
        {
            foreach (var key in map.Children.Keys)
            {
                var name = (key as YamlScalarNode)?.Value ?? "";
                if (!known.Contains(name, StringComparer.Ordinal))
                {
                    Error(key, $"{prefix}{name}: unknown key (expected one of {string.Join(", ", known)})");
                }
            }
        }

        public YamlNode? Required(YamlMappingNode map, string key, string path)
        {
            var node = Get(map, key);
            if (node is null)
            {
                Error(map, $"{path}: '{key}' is missing");
            }

            return node;
        }

        public string? ScalarOf(YamlNode node, string path)
        {
            if (node is YamlScalarNode { Value: { Length: > 0 } value })
            {
                return value;
            }

            Error(node, $"{path}: must be a single value");
            return null;
        }

        public string? Scalar(YamlMappingNode map, string key, string path) =>
            Get(map, key) is { } node ? ScalarOf(node, path) : null;

        public double? Number(YamlMappingNode map, string key, string path, double min, double max, bool minInclusive)
        {
            if (Get(map, key) is not { } node || ScalarOf(node, path) is not { } text)
            {
                return null;
            }

            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
                && (minInclusive ? value >= min : value > min) && value <= max)
            {
                return value;
            }

            Error(node, $"{path}: '{text}' is not a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }

        public TimeSpan? Duration(YamlMappingNode map, string key, string path, bool allowZero = false)
        {
            if (Get(map, key) is not { } node || ScalarOf(node, path) is not { } text)
            {
                return null;
            }

            if (allowZero && text == "0")
            {
                return TimeSpan.Zero;
            }

            if (DurationText.TryParse(text, out var value) && (allowZero || value > TimeSpan.Zero))
            {
                return value;
            }

            Error(node, $"{path}: '{text}' is not a duration like 500ms, 30s, 10m, 2h or 1d");
            return null;
        }
    }
}
