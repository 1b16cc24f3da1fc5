using System.Globalization;
using Telemetry.Domain.Configuration;

namespace Telemetry.DeviceSim.Scenarios;

/// <summary>
/// Reads a scenario file with the registry's YAML reader and duration grammar (<see cref="YamlReader"/>,
/// <see cref="DurationText"/>). Every problem is reported as <c>{source}:{line}:{column}: {what is wrong}</c>; all
/// problems of a file are collected, not only the first.
/// </summary>
public static class ScenarioLoader
{
    static readonly string[] TopLevel = ["registry", "start", "speed", "timetable", "behaviour", "faults"];
    static readonly string[] PeriodKeys = ["days", "from", "to", "occupancy"];
    static readonly string[] BehaviourKeys = ["connectivity-loss", "clock-skew-max", "malformed-rate"];
    static readonly string[] LossKeys = ["probability", "min-duration", "max-duration"];
    static readonly string[] FaultKeys = ["at", "sensor", "fault", "duration", "rate"];

    /// <summary>The service refuses readings stamped more than 5 minutes ahead; a device clock may not be further off.</summary>
    static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

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
        var errors = new List<YamlError>();
        var root = YamlTree.Parse(yaml, source, errors);
        // An empty file (or one with comments only) is the empty scenario: every entry is optional.
        var scenario = root is null ? new Scenario() : new Reader(source, errors, baseDirectory).ReadScenario(root);
        return errors.Count == 0
            ? new ScenarioLoadResult(scenario, [])
            : new ScenarioLoadResult(null, [.. YamlError.InFileOrder(errors).Select(e => e.ToString())]);
    }

    sealed class Reader(string source, List<YamlError> errors, string? baseDirectory) : YamlReader(source, errors)
    {
        public Scenario? ReadScenario(YamlTreeNode root)
        {
            if (Mapping(root, "the scenario") is not { } map)
            {
                return null;
            }

            CheckKeys(map, "the scenario", TopLevel);
            var scenario = new Scenario();
            if (Optional(map, "registry") is { } registryNode && Text(registryNode, "registry") is { } registry)
            {
                if (string.IsNullOrWhiteSpace(registry))
                {
                    Error(registryNode, "registry must name the campus registry file, e.g. campus.yaml");
                }
                else
                {
                    scenario = scenario with { Registry = baseDirectory is null ? registry : Path.GetFullPath(Path.Combine(baseDirectory, registry)) };
                }
            }

            if (Optional(map, "start") is { } startNode && Text(startNode, "start") is { } startText)
            {
                if (DateTimeOffset.TryParse(startText, CultureInfo.InvariantCulture, DateTimeStyles.None, out var start) && HasOffset(startText))
                {
                    scenario = scenario with { Start = start };
                }
                else
                {
                    Error(startNode, $"start '{startText}' is not a date and time with a UTC offset, e.g. 2026-03-02T06:00:00+01:00 or 2026-03-02T05:00:00Z");
                }
            }

            if (InRange(Optional(map, "speed"), "speed", 0.001, 1_000_000) is { } speed)
            {
                scenario = scenario with { Speed = speed };
            }

            if (Optional(map, "timetable") is { } timetable)
            {
                scenario = scenario with { Timetable = ReadTimetable(timetable) };
            }

            if (Optional(map, "behaviour") is { } behaviour)
            {
                scenario = scenario with { Behaviour = ReadBehaviour(behaviour) };
            }

            if (Optional(map, "faults") is { } faults)
            {
                scenario = scenario with { Faults = ReadFaults(faults) };
            }

            return scenario;
        }

        static bool HasOffset(string text)
        {
            var trimmed = text.Trim();
            return trimmed.EndsWith('Z') || trimmed.EndsWith('z')
                   || (trimmed.Length > 6 && trimmed[^6] is '+' or '-' && trimmed[^3] == ':');
        }

        Timetable? ReadTimetable(YamlTreeNode node)
        {
            if (Mapping(node, "timetable") is not { } types)
            {
                return null;
            }

            var periods = new Dictionary<string, IReadOnlyList<TimetablePeriod>>(StringComparer.Ordinal);
            foreach (var (key, value) in types.Entries)
            {
                var roomType = key.Value;
                var path = $"timetable.{roomType}";
                if (value is YamlTreeScalar { IsNull: true })
                {
                    periods[roomType] = [];
                    continue;
                }

                if (Sequence(value, path) is not { } list)
                {
                    continue;
                }

                var entries = new List<TimetablePeriod>();
                for (var i = 0; i < list.Items.Count; i++)
                {
                    if (ReadPeriod(list.Items[i], $"{path}[{i}]") is { } period)
                    {
                        entries.Add(period);
                    }
                }

                periods[roomType] = entries;
            }

            return new Timetable(periods);
        }

        TimetablePeriod? ReadPeriod(YamlTreeNode node, string path)
        {
            if (Mapping(node, path) is not { } map)
            {
                return null;
            }

            CheckKeys(map, path, PeriodKeys);
            // Days and times follow the registry's timetable grammar (one rule, one place).
            var slot = TimetableSlot(map, path);
            var occupancy = InRange(Required(map, "occupancy", path), $"{path}.occupancy", 0, 1);
            return slot is null || occupancy is null ? null : new TimetablePeriod(slot.Days, slot.From, slot.To, occupancy.Value);
        }

        DeviceBehaviour? ReadBehaviour(YamlTreeNode node)
        {
            if (Mapping(node, "behaviour") is not { } map)
            {
                return null;
            }

            CheckKeys(map, "behaviour", BehaviourKeys);
            var behaviour = new DeviceBehaviour();
            if (Optional(map, "connectivity-loss") is { } lossNode && Mapping(lossNode, "behaviour.connectivity-loss") is { } loss)
            {
                CheckKeys(loss, "behaviour.connectivity-loss", LossKeys);
                if (InRange(Optional(loss, "probability"), "behaviour.connectivity-loss.probability", 0, 1) is { } p)
                {
                    behaviour = behaviour with { ConnectivityLossPerHour = p };
                }

                if (Duration(Optional(loss, "min-duration"), "behaviour.connectivity-loss.min-duration", DurationRule.Positive) is { } min)
                {
                    behaviour = behaviour with { ConnectivityLossMin = min };
                }

                if (Duration(Optional(loss, "max-duration"), "behaviour.connectivity-loss.max-duration", DurationRule.Positive) is { } max)
                {
                    behaviour = behaviour with { ConnectivityLossMax = max };
                }

                if (behaviour.ConnectivityLossMax < behaviour.ConnectivityLossMin)
                {
                    Error(loss, "behaviour.connectivity-loss: max-duration must not be below min-duration");
                }
            }

            var skewNode = Optional(map, "clock-skew-max");
            if (Duration(skewNode, "behaviour.clock-skew-max", DurationRule.NonNegative) is { } skew)
            {
                if (skew > MaxClockSkew)
                {
                    Error(skewNode!, "behaviour.clock-skew-max must be at most 5m (the service refuses readings more than 5 minutes ahead)");
                }

                behaviour = behaviour with { ClockSkewMax = skew };
            }

            if (InRange(Optional(map, "malformed-rate"), "behaviour.malformed-rate", 0, 1) is { } rate)
            {
                behaviour = behaviour with { MalformedRate = rate };
            }

            return behaviour;
        }

        List<FaultSpec> ReadFaults(YamlTreeNode node)
        {
            var faults = new List<FaultSpec>();
            if (Sequence(node, "faults") is not { } list)
            {
                return faults;
            }

            for (var i = 0; i < list.Items.Count; i++)
            {
                var path = $"faults[{i}]";
                if (Mapping(list.Items[i], path) is not { } map)
                {
                    continue;
                }

                CheckKeys(map, path, FaultKeys);
                var at = Duration(Required(map, "at", path), $"{path}.at", DurationRule.NonNegative);
                var duration = Duration(Required(map, "duration", path), $"{path}.duration", DurationRule.Positive);
                var sensor = Text(Required(map, "sensor", path), $"{path}.sensor");
                FaultType? type = null;
                if (Required(map, "fault", path) is { } faultNode && Text(faultNode, $"{path}.fault") is { } name)
                {
                    if (FaultTypes.TryParse(name, out var parsed))
                    {
                        type = parsed;
                    }
                    else
                    {
                        Error(faultNode, $"{path}.fault: unknown fault '{name}' (one of {string.Join(", ", FaultTypes.Names)})");
                    }
                }

                double? rate = null;
                if (Optional(map, "rate") is { } rateNode && type is { } t && Number(rateNode, $"{path}.rate") is { } r)
                {
                    if (FaultSpec.ValidRate(t, r))
                    {
                        rate = r;
                    }
                    else
                    {
                        Error(rateNode, $"{path}.rate: {r.ToString(CultureInfo.InvariantCulture)} is not valid for {t.Name()} ({FaultSpec.RateRule(t)})");
                    }
                }

                if (at is { } a && duration is { } d && sensor is { } s && type is { } f)
                {
                    faults.Add(new FaultSpec(s, f, a, d, rate, string.Create(CultureInfo.InvariantCulture, $"{Source}:{map.Line}:{map.Column}")));
                }
            }

            return faults;
        }
    }
}
