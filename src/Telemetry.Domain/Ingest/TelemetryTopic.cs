using Telemetry.Contracts;

namespace Telemetry.Domain.Ingest;

/// <summary>
/// The topic contract: devices publish to <c>campus/{building}/{room}/{sensor}/telemetry</c> (JSON readings) or
/// <c>campus/{building}/{room}/{sensor}/senml</c> (SenML, see <see cref="SenmlParser"/>).
/// Each variable segment is 1..<see cref="MaxSegmentLength"/> characters of any Unicode text except
/// control characters and backslashes. A topic that breaks MQTT's own rules for a PUBLISH topic name (wildcards,
/// NUL, invalid UTF-8) is refused first, with <see cref="RefusalReason.InvalidTopicName"/>: MQTTnet hands such
/// topics on instead of closing the connection.
/// </summary>
public static class TelemetryTopic
{
    public const string Root = "campus";
    public const string Suffix = "telemetry";
    public const string SenmlSuffix = "senml";
    public const string StatusSuffix = "status";
    public const int MaxSegmentLength = 64;

    public static string Format(SensorAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return $"{Root}/{address.Building}/{address.Room}/{address.Sensor}/{Suffix}";
    }

    /// <summary>Parses <c>campus/{building}/{room}/{sensor}/telemetry</c> (the JSON contract) only.</summary>
    public static bool TryParse(string? topic, out SensorAddress address, out Refusal refusal) =>
        TryParse(topic, allowSenml: false, out address, out _, out refusal);

    /// <summary>
    /// Parses <c>campus/{building}/{room}/{sensor}/telemetry</c> (<see cref="PayloadFormat.Json"/>),
    /// <c>campus/{building}/{room}/{sensor}/senml</c> (<see cref="PayloadFormat.Senml"/>, RFC 8428 SenML JSON) and
    /// <c>campus/{building}/{room}/{sensor}/status</c> (<see cref="PayloadFormat.Status"/>, a device's own
    /// <c>online</c>/<c>offline</c>, typically its MQTT Last Will).
    /// </summary>
    public static bool TryParse(string? topic, out SensorAddress address, out PayloadFormat format, out Refusal refusal) =>
        TryParse(topic, allowSenml: true, out address, out format, out refusal);

    public static string Format(SensorAddress address, PayloadFormat format)
    {
        ArgumentNullException.ThrowIfNull(address);
        var suffix = format switch
        {
            PayloadFormat.Json => Suffix,
            PayloadFormat.Senml => SenmlSuffix,
            PayloadFormat.Status => StatusSuffix,
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
        };
        return $"{Root}/{address.Building}/{address.Room}/{address.Sensor}/{suffix}";
    }

    static bool TryParse(string? topic, bool allowSenml, out SensorAddress address, out PayloadFormat format, out Refusal refusal)
    {
        address = null!;
        format = PayloadFormat.Json;
        refusal = default;
        if (string.IsNullOrEmpty(topic))
        {
            refusal = new Refusal(RefusalReason.TopicNotAllowed, "the topic is empty");
            return false;
        }

        if (!IsValidTopicName(topic, out refusal))
        {
            return false;
        }

        var parts = topic.Split('/');
        var knownSuffix = parts.Length == 5 && (parts[4] == Suffix || (allowSenml && parts[4] is SenmlSuffix or StatusSuffix));
        if (!knownSuffix || parts[0] != Root)
        {
            var expected = allowSenml
                ? $"{Root}/{{building}}/{{room}}/{{sensor}}/{Suffix}, …/{SenmlSuffix} or …/{StatusSuffix}"
                : $"{Root}/{{building}}/{{room}}/{{sensor}}/{Suffix}";
            refusal = new Refusal(RefusalReason.TopicNotAllowed, $"topic '{Text.ForLog(topic)}' is not {expected}");
            return false;
        }

        if (!ValidSegment("building", parts[1], out refusal)
            || !ValidSegment("room", parts[2], out refusal)
            || !ValidSegment("sensor", parts[3], out refusal))
        {
            return false;
        }

        address = new SensorAddress(parts[1], parts[2], parts[3]);
        format = parts[4] switch
        {
            SenmlSuffix => PayloadFormat.Senml,
            StatusSuffix => PayloadFormat.Status,
            _ => PayloadFormat.Json,
        };
        return true;
    }

    /// <summary>
    /// MQTT's rules for the topic name of a PUBLISH (MQTT 5 §4.7.3, §1.5.4): no wildcard characters <c>+</c> or
    /// <c>#</c> in any level, no U+0000. MQTTnet decodes invalid UTF-8 as U+FFFD, so U+FFFD stands for a topic that was
    /// not well-formed UTF-8 on the wire (a device has no reason to send the replacement character itself).
    /// </summary>
    public static bool IsValidTopicName(string topic, out Refusal refusal)
    {
        ArgumentNullException.ThrowIfNull(topic);
        refusal = default;
        var bad = topic.AsSpan().IndexOfAny("+#\0\uFFFD");
        if (bad < 0)
        {
            return true;
        }

        var why = topic[bad] switch
        {
            '+' or '#' => $"holds the wildcard '{topic[bad]}', which a PUBLISH topic may not contain",
            '\0' => "holds a NUL character",
            _ => "is not valid UTF-8",
        };
        refusal = new Refusal(RefusalReason.InvalidTopicName, $"topic '{Text.ForLog(topic)}' {why}");
        return false;
    }

    static bool ValidSegment(string what, string segment, out Refusal refusal)
    {
        refusal = default;
        if (segment.Length == 0)
        {
            refusal = new Refusal(RefusalReason.InvalidTopicSegment, $"the {what} segment is empty");
            return false;
        }

        if (segment.Length > MaxSegmentLength)
        {
            refusal = new Refusal(RefusalReason.InvalidTopicSegment,
                $"the {what} segment is {segment.Length} characters long; at most {MaxSegmentLength} are allowed");
            return false;
        }

        if (!Text.IsPrintable(segment))
        {
            refusal = new Refusal(RefusalReason.InvalidTopicSegment,
                $"the {what} segment '{Text.Visible(segment)}' holds control characters");
            return false;
        }

        if (segment.Contains('\\', StringComparison.Ordinal))
        {
            refusal = new Refusal(RefusalReason.InvalidTopicSegment,
                $"the {what} segment '{segment}' holds a backslash, which InfluxDB line protocol cannot carry faithfully");
            return false;
        }

        return true;
    }
}

/// <summary>The payload format a topic announces.</summary>
public enum PayloadFormat
{
    /// <summary><c>…/telemetry</c>: a reading object or an array of them (<see cref="PayloadParser"/>).</summary>
    Json,
    /// <summary><c>…/senml</c>: an RFC 8428 SenML JSON pack (<see cref="SenmlParser"/>).</summary>
    Senml,
    /// <summary><c>…/status</c>: <c>online</c> or <c>offline</c>, the device's own word (e.g. its Last Will).</summary>
    Status,
}
