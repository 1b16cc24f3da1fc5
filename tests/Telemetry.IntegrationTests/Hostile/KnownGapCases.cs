using System.Text;
using static Telemetry.IntegrationTests.Hostile.MqttBytes;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// Hostile inputs whose correct outcome (the MQTT specification's, or issue 11's) main does not give yet. They are
/// not part of <see cref="HostileCorpus.Sources"/>, so the suite stays green; they run as reproducers with
/// <c>HOSTILE_INCLUDE_KNOWN_GAPS=1</c> (see docs/security.md). None of them stores anything or harms another device today;
/// each moves into the corpus (its own category's source) when the change that fixes it lands.
/// </summary>
public sealed class KnownGapCases : IHostileCaseSource
{
    public string Category => "known-gaps";

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        // MQTT 5 §2.1.3 / 3.1.1 [MQTT-2.1.3-1]: wrong fixed-header flags are a malformed packet; MQTTnet ignores them.
        (string Name, byte Type, byte Required, Func<byte, byte[]> Bytes)[] types =
        [
            ("PUBACK", 0x40, 0x00, h => Ack(h, 1)),
            ("PUBREC", 0x50, 0x00, h => Ack(h, 1)),
            ("PUBREL", 0x60, 0x02, h => Ack(h, 1)),
            ("PUBCOMP", 0x70, 0x00, h => Ack(h, 1)),
            ("SUBSCRIBE", 0x80, 0x02, h => Subscribe(Utf8("campus/hostile/none"), 0x01, header: h)),
            ("UNSUBSCRIBE", 0xA0, 0x02, h => Unsubscribe(Utf8("campus/hostile/none"), header: h)),
            ("PINGREQ", 0xC0, 0x00, h => [h, 0x00]),
        ];
        foreach (var (name, type, required, bytes) in types)
        {
            foreach (var flags in new byte[] { 0x01, 0x04, 0x08, 0x0F })
            {
                var header = (byte)(type | flags);
                yield return new(Category, $"{name} with fixed-header flags 0x{flags:X1} (must be 0x{required:X1})", markers.Next(),
                    new RawAction(_ => bytes(header), RawStart.Mqtt5), Expectation.Closed());
            }
        }

        foreach (var flags in new byte[] { 0x01, 0x02, 0x08, 0x0F })
        {
            yield return new(Category, $"CONNECT with fixed-header flags 0x{flags:X1}", markers.Next(),
                new RawAction(m => Connect(V5, Utf8(m), header: (byte)(0x10 | flags)), RawStart.Nothing), Expectation.Closed());
        }

        // MQTT 5 §3.3.2.3.4, §3.3.4: a topic alias never set, or an empty topic without an alias, is a protocol error.
        // MQTTnet hands on an empty topic, refused as topic_not_allowed, and the connection stays open.
        yield return new(Category, "an alias that was never set, without a topic", markers.Next(),
            new RawAction(_ => Publish(0x32, [], 1, Shapes.Reading, properties: TopicAlias(3)), RawStart.Mqtt5), Expectation.Closed());
        yield return new(Category, "an empty topic without an alias", markers.Next(),
            new RawAction(_ => Publish(0x32, [], 1, Shapes.Reading), RawStart.Mqtt5), Expectation.Closed());
        yield return new(Category, "topic alias 0", markers.Next(),
            new RawAction(m => Publish(0x32, Shapes.TopicBytes(m), 1, Shapes.Reading, properties: TopicAlias(0)), RawStart.Mqtt5), Expectation.Closed());

        // MQTT 5 §3.8.3, §3.10.3: a SUBSCRIBE or UNSUBSCRIBE without a filter, subscription options with QoS 3 or reserved bits.
        yield return new(Category, "SUBSCRIBE without any filter", markers.Next(),
            new RawAction(_ => Packet(0x82, [0x00, 0x01, 0x00]), RawStart.Mqtt5), Expectation.Closed());
        yield return new(Category, "UNSUBSCRIBE without any filter", markers.Next(),
            new RawAction(_ => Unsubscribe(null), RawStart.Mqtt5), Expectation.Closed());
        yield return new(Category, "SUBSCRIBE with QoS 3 in its options", markers.Next(),
            new RawAction(_ => Subscribe(Utf8("campus/hostile/none"), 0x03), RawStart.Mqtt5), Expectation.Closed());
        yield return new(Category, "SUBSCRIBE with reserved option bits", markers.Next(),
            new RawAction(_ => Subscribe(Utf8("campus/hostile/none"), 0xC1), RawStart.Mqtt5), Expectation.Closed());

        // Issue 11, point 8 (strict CONNECT flags, packet id 0): malformed CONNECTs are accepted; QoS 1 with packet id 0
        // is handed on (stored) and never acknowledged.
        yield return new(Category, "CONNECT with the reserved connect flag set", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), flags: 0x03), RawStart.Nothing), Expectation.Closed());
        yield return new(Category, "CONNECT with will QoS 3", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), flags: 0x1E, willTopic: Utf8($"campus/hostile/r1/{m}/status"), willPayload: Utf8("offline")), RawStart.Nothing),
            Expectation.Closed());
        yield return new(Category, "CONNECT with will QoS 1 but no will flag", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), flags: 0x0A), RawStart.Nothing), Expectation.Closed());
        yield return new(Category, "MQTT 3.1.1 CONNECT with a password but no user name", markers.Next(),
            new RawAction(m => Connect(V311, Utf8(m), password: Utf8("x")), RawStart.Nothing), Expectation.Closed());
        yield return new(Category, "QoS 1 PUBLISH with packet id 0", markers.Next(),
            new RawAction(m => Publish(0x32, Shapes.TopicBytes(m), 0, Shapes.Reading), RawStart.Mqtt5), Expectation.Closed());
        yield return new(Category, "QoS 2 PUBLISH with packet id 0", markers.Next(),
            new RawAction(m => Publish(0x34, Shapes.TopicBytes(m), 0, Shapes.Reading), RawStart.Mqtt5), Expectation.Closed());

        // MQTT 5 §1.5.4: invalid UTF-8 in a client id or user name is a malformed packet.
        foreach (var (where, id) in new (string, Func<string, byte[]>)[]
        {
            ("at its start", m => [0xFF, .. Utf8(m)]),
            ("in its middle", m => [.. Utf8(m), 0xC0, 0xAF, .. Utf8("x")]),
            ("at its end", m => [.. Utf8(m), 0xF0, 0x9F]),
        })
        {
            yield return new(Category, $"client id with invalid UTF-8 {where}", markers.Next(),
                new RawAction(m => Connect(V5, id(m)), RawStart.Nothing), Expectation.Closed());
        }

        yield return new(Category, "user name with invalid UTF-8", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), [.. Utf8("hx-"), 0xFF], Utf8("x")), RawStart.Nothing), Expectation.Closed());

        // Issue 11, point 8: a metric named like one of the service's own tag keys.
        yield return new(Category, "metric named like the tag 'unregistered'", markers.Next(),
            new PublishAction(Shapes.Topic("{m}"), "{\"unregistered\":1}"u8.ToArray()), Expectation.Payload("invalid_metric_name"));

        // Slow-loris (issue 11, CONNECT deadline): a first packet whose announced length never arrives holds the socket.
        yield return new(Category, "a short HTTP request before CONNECT (announces 69 bytes, sends 25)", markers.Next(),
            new RawAction(_ => Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), RawStart.Nothing), Expectation.Closed());
    }
}
