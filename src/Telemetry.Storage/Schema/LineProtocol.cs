using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Writes;
using Telemetry.Contracts;
using Telemetry.Domain.Schema;

namespace Telemetry.Storage;

/// <summary>
/// The InfluxDB schema of raw readings: measurement <c>telemetry</c>, tags <c>building</c>, <c>room</c>, <c>sensor</c>,
/// one float field per metric, the reading's own timestamp in milliseconds. Lines are produced by InfluxDB.Client's
/// <see cref="PointData"/>, which escapes spaces, commas and '=' in tags and field keys and writes control characters
/// as escapes, so no name can add a line, a tag or a field.
/// </summary>
public static class LineProtocol
{
    public const string Measurement = "telemetry";
    public const WritePrecision Precision = WritePrecision.Ms;

    /// <summary>One line per reading.</summary>
    public static string[] ToLines(SensorAddress address, IReadOnlyList<Reading> readings, bool unregistered = false)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(readings);

        var lines = new string[readings.Count];
        for (var i = 0; i < readings.Count; i++)
        {
            lines[i] = ToLine(address, readings[i], unregistered);
        }

        return lines;
    }

    /// <summary>
    /// One reading's line. Readings of sensors the campus registry does not list carry the tag
    /// <c>unregistered=true</c> (registered ones carry no such tag, so their series stay as they were).
    /// </summary>
    public static string ToLine(SensorAddress address, Reading reading, bool unregistered = false)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(reading);
        EnsureRepresentable(address.Building);
        EnsureRepresentable(address.Room);
        EnsureRepresentable(address.Sensor);
        var point = PointData.Measurement(Measurement)
            .Tag(TagKeys.Building, address.Building)
            .Tag(TagKeys.Room, address.Room)
            .Tag(TagKeys.Sensor, address.Sensor)
            .Tag(TagKeys.Unregistered, unregistered ? "true" : null)
            .Timestamp(reading.TimestampMs, Precision);
        foreach (var metric in reading.Metrics)
        {
            EnsureRepresentable(metric.Name);
            if (!double.IsFinite(metric.Value))
            {
                throw new ArgumentException($"metric '{metric.Name}' is not finite; line protocol cannot carry it", nameof(reading));
            }

            point = point.Field(metric.Name, metric.Value);
        }

        var line = point.ToLineProtocol();
        if (line.Length == 0)
        {
            throw new ArgumentException("a reading without metrics has no line", nameof(reading));
        }

        return line;
    }

    /// <summary>
    /// Line protocol cannot carry a backslash in a tag or field key faithfully: PointData leaves it as is, and a
    /// trailing one would escape the separator that follows. The ingest contract refuses such names; this is the
    /// last guard. Empty names would be dropped silently by PointData.
    /// </summary>
    internal static void EnsureRepresentable(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("an empty tag value or field key cannot be written");
        }

        if (name.Contains('\\', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' holds a backslash, which line protocol cannot carry faithfully");
        }
    }
}
