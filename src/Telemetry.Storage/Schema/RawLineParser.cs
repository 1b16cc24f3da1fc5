using System.Globalization;
using System.Text;
using Telemetry.Contracts;
using Telemetry.Domain.Schema;

namespace Telemetry.Storage;

/// <summary>
/// Reads the raw lines of one spool record back into the <see cref="TelemetryMessage"/> they were made from: the
/// exact inverse of <see cref="LineProtocol.ToLine"/>, for the grain feeder. A record holds the lines of one message
/// (one line per reading, all of the same sensor); the address comes from the <c>building</c>, <c>room</c> and
/// <c>sensor</c> tags (the <c>unregistered</c> tag is not part of it), each reading from the float fields and the
/// millisecond timestamp. The metrics of a reading come back in the line's order, which is PointData's (sorted by
/// name), not necessarily the device's.
/// <para>
/// Hand-written because InfluxDB.Client writes line protocol but has no reader, and only what PointData writes for
/// <see cref="LineProtocol"/> is to be accepted: in tag keys, tag values and field keys '\' escapes a space, a comma
/// or '=', and <c>\n</c>, <c>\r</c>, <c>\t</c> stand for those control characters; names never hold a backslash of
/// their own (<see cref="LineProtocol.EnsureRepresentable"/>), so every backslash is an escape. Field values are
/// doubles as <see cref="double.ToString(IFormatProvider)"/> writes them with the invariant culture (shortest text
/// that reads back to the same bits). Anything else is refused with a <see cref="RawLineFormatException"/>.
/// </para>
/// </summary>
public static class RawLineParser
{
    /// <summary>True when <paramref name="line"/> is of measurement <c>telemetry</c> (a raw reading), by its first characters.</summary>
    public static bool IsRaw(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return line.Length > LineProtocol.Measurement.Length
            && line.StartsWith(LineProtocol.Measurement, StringComparison.Ordinal)
            && line[LineProtocol.Measurement.Length] is ',' or ' ';
    }

    /// <summary>
    /// True when the record holds raw readings (its first line is a <c>telemetry</c> line). Grains' derived records
    /// hold none; <see cref="ParseRecord"/> refuses a record that mixes both.
    /// </summary>
    public static bool IsRawRecord(IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        return lines.Count > 0 && IsRaw(lines[0]);
    }

    /// <summary>The message of one raw record, received at <paramref name="receivedAtMs"/> (the record's append time).</summary>
    /// <exception cref="RawLineFormatException">A line is not one <see cref="LineProtocol.ToLine"/> writes, or the lines are of different sensors.</exception>
    public static TelemetryMessage ParseRecord(IReadOnlyList<string> lines, long receivedAtMs)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
        {
            throw new RawLineFormatException(RawLineFormatException.Empty, "the record holds no lines");
        }

        SensorAddress? address = null;
        var readings = new Reading[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            if (!IsRaw(lines[i]))
            {
                throw new RawLineFormatException(RawLineFormatException.MixedRecord, "the record mixes raw readings with other measurements");
            }

            var (lineAddress, reading) = ParseLine(lines[i]);
            if (address is null)
            {
                address = lineAddress;
            }
            else if (address != lineAddress)
            {
                throw new RawLineFormatException(RawLineFormatException.MixedSensors, "the record's lines are of different sensors");
            }

            readings[i] = reading;
        }

        return new TelemetryMessage(address!, readings, receivedAtMs);
    }

    /// <summary>The address and reading of one raw line.</summary>
    /// <exception cref="RawLineFormatException">The line is not one <see cref="LineProtocol.ToLine"/> writes.</exception>
    public static (SensorAddress Address, Reading Reading) ParseLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (!IsRaw(line) || line[LineProtocol.Measurement.Length] != ',')
        {
            throw new RawLineFormatException(RawLineFormatException.Malformed, "not a telemetry line with tags");
        }

        // measurement,tags fields timestamp: the two separating spaces are the only unescaped ones.
        var tagsEnd = NextUnescaped(line, ' ', LineProtocol.Measurement.Length);
        var fieldsEnd = tagsEnd < 0 ? -1 : NextUnescaped(line, ' ', tagsEnd + 1);
        if (fieldsEnd < 0 || NextUnescaped(line, ' ', fieldsEnd + 1) >= 0)
        {
            throw new RawLineFormatException(RawLineFormatException.Malformed, "not three space-separated sections");
        }

        var address = ParseTags(line, LineProtocol.Measurement.Length + 1, tagsEnd);
        var metrics = ParseFields(line, tagsEnd + 1, fieldsEnd);
        var time = line.AsSpan(fieldsEnd + 1);
        if (!long.TryParse(time, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var timestampMs))
        {
            throw new RawLineFormatException(RawLineFormatException.BadTimestamp, "the timestamp is not an integer of milliseconds");
        }

        return (address, new Reading(timestampMs, metrics));
    }

    static SensorAddress ParseTags(string line, int start, int end)
    {
        string? building = null, room = null, sensor = null;
        var unregistered = false;
        foreach (var (key, value) in Pairs(line, start, end))
        {
            switch (key)
            {
                case TagKeys.Building when building is null:
                    building = value;
                    break;
                case TagKeys.Room when room is null:
                    room = value;
                    break;
                case TagKeys.Sensor when sensor is null:
                    sensor = value;
                    break;
                case TagKeys.Unregistered when !unregistered && value == "true":
                    unregistered = true;
                    break;
                default:
                    throw new RawLineFormatException(RawLineFormatException.UnexpectedTag, $"tag '{key}' is not one a raw line carries (or is given twice)");
            }
        }

        if (building is null || room is null || sensor is null)
        {
            throw new RawLineFormatException(RawLineFormatException.MissingTag, "the building, room or sensor tag is missing");
        }

        return new SensorAddress(building, room, sensor);
    }

    static Metric[] ParseFields(string line, int start, int end)
    {
        var metrics = new List<Metric>();
        foreach (var (key, text) in Pairs(line, start, end))
        {
            // Exactly what double.ToString(InvariantCulture) writes: sign, digits, point, exponent. No integer ('i'),
            // unsigned ('u'), boolean or string fields, no infinities or NaN.
            if (!double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                    CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            {
                throw new RawLineFormatException(RawLineFormatException.NotAFloat, $"field '{key}' is not a finite float");
            }

            foreach (var known in metrics)
            {
                if (string.Equals(known.Name, key, StringComparison.Ordinal))
                {
                    throw new RawLineFormatException(RawLineFormatException.Malformed, $"field '{key}' is given twice");
                }
            }

            metrics.Add(new Metric(key, value));
        }

        return [.. metrics];
    }

    /// <summary>The unescaped key=value pairs between <paramref name="start"/> and <paramref name="end"/>, separated by unescaped commas.</summary>
    static IEnumerable<(string Key, string Value)> Pairs(string line, int start, int end)
    {
        var at = start;
        while (true)
        {
            var comma = NextUnescaped(line, ',', at, end);
            var pairEnd = comma < 0 ? end : comma;
            var equals = NextUnescaped(line, '=', at, pairEnd);
            if (equals <= at || equals == pairEnd - 1)
            {
                throw new RawLineFormatException(RawLineFormatException.Malformed, "an empty key or value, or no '='");
            }

            yield return (Unescape(line, at, equals), Unescape(line, equals + 1, pairEnd));
            if (comma < 0)
            {
                yield break;
            }

            at = comma + 1;
        }
    }

    /// <summary>The first <paramref name="c"/> from <paramref name="from"/> that no backslash escapes, or -1.</summary>
    static int NextUnescaped(string line, char c, int from, int end = -1)
    {
        end = end < 0 ? line.Length : end;
        for (var i = from; i < end; i++)
        {
            if (line[i] == '\\')
            {
                i++;
            }
            else if (line[i] == c)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The inverse of PointData's EscapeKey (InfluxDB.Client 5.x, Client/Writes/PointData.cs).</summary>
    static string Unescape(string line, int start, int end)
    {
        if (line.AsSpan(start, end - start).IndexOf('\\') < 0)
        {
            return line[start..end];
        }

        var text = new StringBuilder(end - start);
        for (var i = start; i < end; i++)
        {
            var c = line[i];
            if (c != '\\')
            {
                text.Append(c);
                continue;
            }

            if (++i >= end)
            {
                throw new RawLineFormatException(RawLineFormatException.Malformed, "a name ends in a backslash");
            }

            text.Append(line[i] switch
            {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                ' ' or ',' or '=' => line[i],
                _ => throw new RawLineFormatException(RawLineFormatException.Malformed, "a backslash escapes a character PointData does not escape"),
            });
        }

        return text.ToString();
    }
}

/// <summary>A line or record that <see cref="RawLineParser"/> cannot read back; <see cref="Reason"/> is a fixed label for metrics.</summary>
public sealed class RawLineFormatException(string reason, string message) : FormatException(message)
{
    public const string Empty = "empty_record";
    public const string MixedRecord = "mixed_record";
    public const string MixedSensors = "mixed_sensors";
    public const string Malformed = "malformed";
    public const string UnexpectedTag = "unexpected_tag";
    public const string MissingTag = "missing_tag";
    public const string NotAFloat = "not_a_float";
    public const string BadTimestamp = "bad_timestamp";

    /// <summary>One of the constants above.</summary>
    public string Reason { get; } = reason;
}
