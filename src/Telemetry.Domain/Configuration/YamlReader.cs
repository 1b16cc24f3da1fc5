using System.Globalization;
using Telemetry.Domain.Campus;

namespace Telemetry.Domain.Configuration;

/// <summary>
/// The base of a file's reader (campus registry, simulator scenario): walks a <see cref="YamlTree"/> once and collects
/// every problem as a <see cref="YamlError"/> at the node at fault, instead of stopping at the first. The methods take
/// <c>what</c>, the setting's name as the message should say it (<c>kind 't' interval</c>, <c>faults[0].at</c>); they
/// return null after reporting, so callers go on and find the next problem.
/// </summary>
public abstract class YamlReader(string source, List<YamlError> errors)
{
    /// <summary>The file's name as errors show it.</summary>
    protected string Source { get; } = source;

    protected void Error(YamlTreeNode node, string message)
    {
        ArgumentNullException.ThrowIfNull(node);
        errors.Add(new YamlError(Source, node.Line, node.Column, message));
    }

    /// <summary>Reports every key of <paramref name="map"/> not in <paramref name="allowed"/>, at the key.</summary>
    protected void CheckKeys(YamlTreeMapping map, string what, string[] allowed, string allowedLabel = "allowed keys")
    {
        ArgumentNullException.ThrowIfNull(map);
        foreach (var (key, _) in map.Entries)
        {
            if (Array.IndexOf(allowed, key.Value) < 0)
            {
                Error(key, $"unknown key '{key.Value}' in {what}; {allowedLabel}: {string.Join(", ", allowed)}");
            }
        }
    }

    /// <summary>A key that must be there with a value; reported at the mapping when missing, at the key when empty.</summary>
    protected YamlTreeNode? Required(YamlTreeMapping map, string key, string what)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Find(key) is not { } entry)
        {
            Error(map, $"{what}: missing required key '{key}'");
            return null;
        }
        if (entry.Value is YamlTreeScalar { IsNull: true })
        {
            // An empty value has no position of its own worth showing; its key does.
            Error(entry.Key, $"{what}: '{key}' needs a value");
            return null;
        }
        return entry.Value;
    }

    /// <summary>An optional key; an explicit null (<c>key:</c> or <c>key: ~</c>) counts as absent.</summary>
    protected static YamlTreeNode? Optional(YamlTreeMapping map, string key)
    {
        ArgumentNullException.ThrowIfNull(map);
        return map.Get(key) is { } node && node is not YamlTreeScalar { IsNull: true } ? node : null;
    }

    protected YamlTreeMapping? Mapping(YamlTreeNode node, string what) =>
        As<YamlTreeMapping>(node, $"{what} must be a mapping (key: value lines or {{ key: value }})");

    protected YamlTreeSequence? Sequence(YamlTreeNode node, string what) =>
        As<YamlTreeSequence>(node, $"{what} must be a list ('- item' lines or [ … ])");

    T? As<T>(YamlTreeNode node, string mustBe) where T : YamlTreeNode
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node is T typed)
        {
            return typed;
        }
        Error(node, $"{mustBe}, not {node.Describe}");
        return null;
    }

    protected string? Text(YamlTreeNode? node, string what)
    {
        switch (node)
        {
            case null:
                return null;
            case YamlTreeScalar scalar:
                return scalar.Value;
            default:
                Error(node, $"{what} must be a single value, not {node.Describe}");
                return null;
        }
    }

    /// <summary>A finite decimal number (<c>-15</c>, <c>0.05</c>, <c>1e3</c>).</summary>
    protected double? Number(YamlTreeNode? node, string what)
    {
        var text = Text(node, what);
        if (text is null)
        {
            return null;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
        {
            return value;
        }
        Error(node!, $"{what} must be a number, not '{text}'");
        return null;
    }

    /// <summary>A number from <paramref name="floor"/> to <paramref name="ceiling"/> (either may be infinite; <see cref="double.Epsilon"/> as floor reads "greater than 0").</summary>
    protected double? InRange(YamlTreeNode? node, string what, double floor, double ceiling)
    {
        var value = Number(node, what);
        if (value is null)
        {
            return null;
        }
        if (value < floor || value > ceiling)
        {
            var range = double.IsNegativeInfinity(floor) ? $"at most {ceiling}"
                : double.IsPositiveInfinity(ceiling) ? (floor == double.Epsilon ? "greater than 0" : $"at least {floor}")
                : $"between {floor} and {ceiling}";
            Error(node!, $"{what} must be {range}, not {value}");
            return null;
        }
        return value;
    }

    /// <summary>A duration in the one grammar (<see cref="DurationText"/>) that <paramref name="rule"/> allows.</summary>
    protected TimeSpan? Duration(YamlTreeNode? node, string what, DurationRule rule)
    {
        var text = Text(node, what);
        if (text is null)
        {
            return null;
        }
        if (DurationText.Check(text, rule, out var duration) is { } problem)
        {
            Error(node!, $"{what} {problem}");
            return null;
        }
        return duration;
    }

    /// <summary>
    /// The <c>days</c>, <c>from</c> and <c>to</c> of a timetable period in <paramref name="map"/> (the one grammar of
    /// <see cref="TimetableSlot"/>; the caller checks the map's keys). <paramref name="path"/> names the period in
    /// messages (<c>timetable.lab[0]</c>). Null after reporting a problem.
    /// </summary>
    protected TimetableSlot? TimetableSlot(YamlTreeMapping map, string path)
    {
        ArgumentNullException.ThrowIfNull(map);
        IReadOnlySet<DayOfWeek>? days = null;
        if (Required(map, "days", path) is { } daysNode && Text(daysNode, $"{path}.days") is { } daysText)
        {
            if (Campus.TimetableSlot.TryParseDays(daysText, out var parsed))
            {
                days = parsed;
            }
            else
            {
                Error(daysNode, $"{path}.days '{daysText}' is not days like {Campus.TimetableSlot.DaysExample}");
            }
        }

        var from = Time("from");
        var to = Time("to");
        if (days is null || from is null || to is null)
        {
            return null;
        }

        if (to <= from)
        {
            Error(map, $"{path}: 'to' ({to:HH\\:mm}) must be after 'from' ({from:HH\\:mm}) on the same day");
            return null;
        }

        return new TimetableSlot(days, from.Value, to.Value);

        TimeOnly? Time(string key)
        {
            if (Required(map, key, path) is not { } timeNode || Text(timeNode, $"{path}.{key}") is not { } text)
            {
                return null;
            }

            if (Campus.TimetableSlot.TryParseTime(text, out var time))
            {
                return time;
            }

            Error(timeNode, $"{path}.{key} '{text}' is not a time like {Campus.TimetableSlot.TimeExample}");
            return null;
        }
    }
}
