using static Telemetry.IntegrationTests.Hostile.Expectation;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// Topics that are valid MQTT but play with the service's topic contract: path tricks, empty and very long levels,
/// control characters, Unicode look-alikes, <c>$SYS</c>, the alert root, shared-subscription syntax. Published by a real client.
/// </summary>
public sealed class TopicTrickCases : IHostileCaseSource
{
    public string Category => "topic-tricks";

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        var notAllowed = Topic("topic_not_allowed");
        var badSegment = Topic("invalid_topic_segment");
        var forged = Expectation.Refused("forged_alert", 0x87); // MQTT 5 Not Authorized: alerts come from the service alone
        (string Name, string Topic, Expectation Expected)[] topics =
        [
            ("leading slash", "/campus/hostile/r1/{m}/telemetry", notAllowed),
            ("trailing slash", "campus/hostile/r1/{m}/telemetry/", notAllowed),
            ("six levels", "campus/hostile/r1/x/{m}/telemetry", notAllowed),
            ("three levels", "campus/{m}/telemetry", notAllowed),
            ("unknown suffix", "campus/hostile/r1/{m}/state", notAllowed),
            ("suffix in upper case", "campus/hostile/r1/{m}/Telemetry", notAllowed),
            ("root in upper case", "Campus/hostile/r1/{m}/telemetry", notAllowed),
            ("Cyrillic 'а' in the root", "cаmpus/hostile/r1/{m}/telemetry", notAllowed),
            ("Cyrillic 'у' in the suffix", "campus/hostile/r1/{m}/telemetrу", notAllowed),
            ("fullwidth root", "ｃａｍｐｕｓ/hostile/r1/{m}/telemetry", notAllowed),
            ("zero-width space in the suffix", "campus/hostile/r1/{m}/tele\u200Bmetry", notAllowed),
            ("BOM before the root", "\uFEFFcampus/hostile/r1/{m}/telemetry", notAllowed),
            ("$SYS topic", "$SYS/broker/{m}/telemetry", notAllowed),
            ("$SYS look-alike of the contract", "$SYS/hostile/r1/{m}/telemetry", notAllowed),
            ("shared-subscription syntax", "$share/g/campus/hostile/r1/{m}/telemetry", notAllowed),
            ("forged alert under the alert root", "campus/alerts/hostile/r1/{m}/offline", forged),
            ("forged alert, short", "campus/alerts/{m}", forged),
            ("alert root as a building", "campus/alerts/r1/{m}/telemetry", forged),
            ("empty building level", "campus//r1/{m}/telemetry", badSegment),
            ("empty room level", "campus/hostile//{m}/telemetry", badSegment),
            ("empty sensor level", "campus/{m}/r1//telemetry", badSegment),
            ("65-character sensor level", "campus/hostile/r1/{m}" + new string('x', 59) + "/telemetry", badSegment),
            ("10,000-character building level", "campus/" + new string('b', 10_000) + "/r1/{m}/telemetry", Expectation.Closed("topic_too_long")),
            ("60,000-character topic", "campus/hostile/r1/{m}/" + new string('t', 60_000), Expectation.Closed("topic_too_long")),
            ("newline in the sensor level (log forging)", "campus/hostile/r1/{m}\n2026-12-03 [ERR] forged/telemetry", badSegment),
            ("carriage return in the room level", "campus/hostile/r\r1/{m}/telemetry", badSegment),
            ("escape sequence in the sensor level", "campus/hostile/r1/{m}\u001B[31m/telemetry", badSegment),
            ("DEL in the building level", "campus/host\u007File/r1/{m}/telemetry", badSegment),
            ("C1 control in the sensor level", "campus/hostile/r1/{m}\u0085/telemetry", badSegment),
            ("U+2028 in the sensor level", "campus/hostile/r1/{m}\u2028/telemetry", badSegment),
            ("backslash in the sensor level", "campus/hostile/r1/{m}\\/telemetry", badSegment),
            ("tab in the building level", "campus/host\tile/r1/{m}/telemetry", badSegment),
        ];
        foreach (var (name, topic, expected) in topics)
        {
            yield return new(Category, name, markers.Next(), new PublishAction(topic, Shapes.Reading), expected);
        }

        // Within the contract: odd, yet harmless once escaped on the way into InfluxDB. Stored exactly as sent.
        (string Name, string Topic)[] odd =
        [
            ("'..' as building and room", "campus/../../{m}/telemetry"),
            ("'.' as building", "campus/./r1/{m}/telemetry"),
            ("look-alike of the registered sensor id (Cyrillic 'о')", "campus/hb/hr/{m}-gооd-1/telemetry"),
            ("line-protocol syntax in the sensor level", "campus/hostile/r1/{m} x=1,y=\"2\"/telemetry"),
            ("64-character sensor level (the limit)", "campus/hostile/r1/{m}" + new string('x', 58) + "/telemetry"),
            ("right-to-left override in the sensor level", "campus/hostile/r1/{m}\u202Eevil/telemetry"),
            ("emoji building", "campus/🏫/r1/{m}/telemetry"),
        ];
        foreach (var (name, topic) in odd)
        {
            yield return new(Category, name, markers.Next(), new PublishAction(topic, Shapes.Reading), Accepted);
        }
    }
}
