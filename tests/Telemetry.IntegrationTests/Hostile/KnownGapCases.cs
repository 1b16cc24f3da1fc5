using static Telemetry.IntegrationTests.Hostile.MqttBytes;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// Hostile inputs whose correct outcome (the MQTT specification's, or issue 11's) main does not give yet. They are
/// not part of <see cref="HostileCorpus.Sources"/>, so the suite stays green; they run as reproducers with
/// <c>HOSTILE_INCLUDE_KNOWN_GAPS=1</c> (see docs/security.md). What they store is listed with each;
/// each moves into the corpus (its own category's source) when the change that fixes it lands.
/// </summary>
public sealed class KnownGapCases : IHostileCaseSource
{
    public string Category => "known-gaps";

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        // MQTT 5 §3.3.2.3.4: a Topic Alias of 0 is a protocol error. MQTTnet decodes an alias property of 0 exactly as no
        // alias at all (TopicAlias = 0), so nothing after its decoder can tell them apart; seeing it would take parsing
        // every MQTT 5 PUBLISH's properties on the wire. With a topic, the message goes through as if it had no alias.
        yield return new(Category, "topic alias 0", markers.Next(),
            new RawAction(m => Publish(0x32, Shapes.TopicBytes(m), 1, Shapes.Reading, properties: TopicAlias(0)), RawStart.Mqtt5),
            Expectation.Closed("topic_alias_invalid"));
    }
}
