using Telemetry.Contracts;

namespace Telemetry.Domain.Ingest;

/// <summary>
/// The topic contract: devices publish to <c>campus/{building}/{room}/{sensor}/telemetry</c>.
/// Each variable segment is 1..<see cref="MaxSegmentLength"/> characters of any Unicode text except
/// control characters and backslashes (MQTT already forbids '/', '+' and '#' inside a published topic's segment).
/// </summary>
public static class TelemetryTopic
{
    public const string Root = "campus";
    public const string Suffix = "telemetry";
    public const int MaxSegmentLength = 64;

    public static string Format(SensorAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return $"{Root}/{address.Building}/{address.Room}/{address.Sensor}/{Suffix}";
    }

    public static bool TryParse(string? topic, out SensorAddress address, out Refusal refusal)
    {
        address = null!;
        refusal = default;
        if (string.IsNullOrEmpty(topic))
        {
            refusal = new Refusal(RefusalReason.TopicNotAllowed, "the topic is empty");
            return false;
        }

        var parts = topic.Split('/');
        if (parts.Length != 5 || parts[0] != Root || parts[4] != Suffix)
        {
            refusal = new Refusal(RefusalReason.TopicNotAllowed,
                $"topic '{Shorten(topic)}' is not {Root}/{{building}}/{{room}}/{{sensor}}/{Suffix}");
            return false;
        }

        if (!ValidSegment("building", parts[1], out refusal)
            || !ValidSegment("room", parts[2], out refusal)
            || !ValidSegment("sensor", parts[3], out refusal))
        {
            return false;
        }

        address = new SensorAddress(parts[1], parts[2], parts[3]);
        return true;
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

    static string Shorten(string topic) => Text.Visible(topic.Length > 120 ? topic[..120] + "…" : topic);
}
