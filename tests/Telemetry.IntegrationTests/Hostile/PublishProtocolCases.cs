using System.Text;
using MQTTnet.Protocol;
using static Telemetry.IntegrationTests.Hostile.MqttBytes;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// PUBLISH packets that break MQTT's rules for topics and QoS, sent raw (a client library will not): wildcards at
/// every level, NUL, invalid UTF-8 at every position, QoS 3 with every flag combination.
/// </summary>
public sealed class PublishTopicCases : IHostileCaseSource
{
    public string Category => "publish-topic";

    static readonly Expectation InvalidTopic = Expectation.Topic("invalid_topic_name");

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        // Each level of campus/{building}/{room}/{sensor}/telemetry in turn holds the trick; the marker stays in the sensor level.
        string[] levels = ["root", "building", "room", "sensor", "suffix"];
        (string Name, byte[] Bytes)[] tricks =
        [
            ("'+' as the level", "+"u8.ToArray()),
            ("'#' as the level", "#"u8.ToArray()),
            ("'+' inside the level", "a+b"u8.ToArray()),
            ("'#' inside the level", "a#"u8.ToArray()),
            ("NUL inside the level", "a\0b"u8.ToArray()),
            ("a lone continuation byte 0x80", [0x61, 0x80]),
            ("0xFF", [0xFF]),
            ("an overlong '/' (C0 AF)", [0x61, 0xC0, 0xAF, 0x62]),
            ("a UTF-16 surrogate half (ED A0 80)", [0xED, 0xA0, 0x80]),
            ("a truncated 4-byte sequence", [0x61, 0xF0, 0x9F, 0x98]),
            ("a code point above U+10FFFF (F4 90 80 80)", [0xF4, 0x90, 0x80, 0x80]),
        ];
        foreach (var (trick, bytes) in tricks)
        {
            for (var level = 0; level < levels.Length; level++)
            {
                var at = level;
                yield return new(Category, $"{trick} in the {levels[level]} level", markers.Next(),
                    new RawAction(m => PublishWithTrick(m, at, bytes, qos: 1), RawStart.Mqtt5), InvalidTopic);
            }
        }

        // The same on MQTT 3.1.1 (a plain PUBACK, the refusal counted) and at QoS 0 (no answer at all, still counted).
        foreach (var (trick, bytes) in tricks.Where((_, i) => i is 0 or 1 or 4 or 6))
        {
            yield return new(Category, $"{trick} in the sensor level, MQTT 3.1.1", markers.Next(),
                new RawAction(m => PublishWithTrick(m, 3, bytes, qos: 1, v5: false), RawStart.Mqtt311), Expectation.Refused("invalid_topic_name", null));
            yield return new(Category, $"{trick} in the sensor level, QoS 0", markers.Next(),
                new RawAction(m => PublishWithTrick(m, 3, bytes, qos: 0), RawStart.Mqtt5), Expectation.Refused("invalid_topic_name", null));
        }

        // QoS 3 (both QoS bits set) with every combination of DUP and RETAIN, on both protocol versions.
        foreach (var v5 in new[] { true, false })
        {
            foreach (var extra in new byte[] { 0x00, 0x01, 0x08, 0x09 })
            {
                var header = (byte)(0x36 | extra);
                yield return new(Category, $"QoS 3, header 0x{header:X2}, {(v5 ? "MQTT 5" : "MQTT 3.1.1")}", markers.Next(),
                    new RawAction(m => Publish(header, Shapes.TopicBytes(m), 3, Shapes.Reading, v5), v5 ? RawStart.Mqtt5 : RawStart.Mqtt311),
                    Expectation.Closed("invalid_qos"));
            }
        }

        // MQTT-2.2.1-3: QoS 1 and 2 need a packet identifier other than 0.
        foreach (var (qos, header) in new[] { (1, (byte)0x32), (2, (byte)0x34) })
        {
            foreach (var v5 in new[] { true, false })
            {
                yield return new(Category, $"QoS {qos} PUBLISH with packet id 0, {(v5 ? "MQTT 5" : "MQTT 3.1.1")}", markers.Next(),
                    new RawAction(m => Publish(header, Shapes.TopicBytes(m), 0, Shapes.Reading, v5), v5 ? RawStart.Mqtt5 : RawStart.Mqtt311),
                    Expectation.Closed("invalid_packet_id"));
            }
        }
    }

    /// <summary>
    /// A QoS 0/1 PUBLISH whose topic level <paramref name="level"/> is <paramref name="trick"/>; the sensor level keeps the
    /// marker (followed by the trick when the trick is in that level).
    /// </summary>
    static byte[] PublishWithTrick(string marker, int level, byte[] trick, int qos, bool v5 = true)
    {
        byte[][] parts = [Utf8("campus"), Utf8("hostile"), Utf8("r1"), Utf8(marker), Utf8("telemetry")];
        parts[level] = level == 3 ? [.. Utf8(marker), .. trick] : trick;
        byte[] topic = [.. parts.SelectMany((p, i) => i == 0 ? p : [(byte)'/', .. p])];
        return Publish(qos == 1 ? (byte)0x32 : (byte)0x30, topic, 1, Shapes.Reading, v5);
    }
}

/// <summary>MQTT 5 topic aliases misused: above the maximum, aliases of refused topics and of bad payloads.</summary>
public sealed class TopicAliasCases : IHostileCaseSource
{
    public string Category => "topic-alias";

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        foreach (var alias in new ushort[] { 11, 12, 100, 1000, 65535 })
        {
            yield return new(Category, $"alias {alias}, above the maximum of 10, with a topic", markers.Next(),
                new RawAction(m => Publish(0x32, Shapes.TopicBytes(m), 1, Shapes.Reading, properties: TopicAlias(alias)), RawStart.Mqtt5),
                Expectation.Closed("topic_alias_invalid"));
            yield return new(Category, $"alias {alias}, above the maximum of 10, without a topic", markers.Next(),
                new RawAction(_ => Publish(0x32, [], 1, Shapes.Reading, properties: TopicAlias(alias)), RawStart.Mqtt5),
                Expectation.Closed("topic_alias_invalid"));
        }

        yield return new(Category, "alias 11 after aliases 1..10 were set", markers.Next(),
            new RawAction(m => [
                .. Enumerable.Range(1, 10).SelectMany(a => Publish(0x30, Shapes.TopicBytes($"{m}-{a}"), 0, "{\"t\":[]}"u8.ToArray(), properties: TopicAlias((ushort)a))),
                .. Publish(0x32, Shapes.TopicBytes(m), 1, Shapes.Reading, properties: TopicAlias(11)),
            ], RawStart.Mqtt5),
            // The ten QoS 0 messages carry a non-numeric metric: refused and counted before the alias closes the connection.
            Expectation.Closed("topic_alias_invalid")) { AlsoCounted = new Dictionary<string, int> { ["non_numeric_metric"] = 10 } };
        // MQTT 5 §3.3.2.3.4, §3.3.4: a topic alias never set, or an empty topic without an alias, is a protocol error.
        yield return new(Category, "an alias that was never set, without a topic", markers.Next(),
            new RawAction(_ => Publish(0x32, [], 1, Shapes.Reading, properties: TopicAlias(3)), RawStart.Mqtt5), Expectation.Closed("topic_alias_invalid"));
        yield return new(Category, "an empty topic without an alias", markers.Next(),
            new RawAction(_ => Publish(0x32, [], 1, Shapes.Reading), RawStart.Mqtt5), Expectation.Closed("topic_alias_invalid"));
        // Topic alias 0 is a protocol error too; MQTTnet decodes it as no alias, so it is seen on the raw properties.
        yield return new(Category, "topic alias 0 with a topic", markers.Next(),
            new RawAction(m => Publish(0x32, Shapes.TopicBytes(m), 1, Shapes.Reading, properties: TopicAlias(0)), RawStart.Mqtt5),
            Expectation.Closed("protocol_error"));
        yield return new(Category, "topic alias 0 after a user property", markers.Next(),
            new RawAction(m => Publish(0x32, Shapes.TopicBytes(m), 1, Shapes.Reading, properties: [0x26, .. Str("k"), .. Str("v"), .. TopicAlias(0)]), RawStart.Mqtt5),
            Expectation.Closed("protocol_error"));
        yield return new(Category, "topic alias 0 without a topic, QoS 0", markers.Next(),
            new RawAction(_ => Publish(0x30, [], 0, Shapes.Reading, properties: TopicAlias(0)), RawStart.Mqtt5),
            Expectation.Closed("protocol_error"));
        yield return new(Category, "alias 1 set, alias 2 used without a topic", markers.Next(),
            new RawAction(m => [
                .. Publish(0x32, Shapes.TopicBytes(m), 1, "{\"temperature\":\"x\"}"u8.ToArray(), properties: TopicAlias(1)),
                .. Publish(0x32, [], 2, Shapes.Reading, properties: TopicAlias(2)),
            ], RawStart.Mqtt5),
            Expectation.Closed("topic_alias_invalid")) { AlsoCounted = new Dictionary<string, int> { ["non_numeric_metric"] = 1 } };
        yield return new(Category, "alias set on a wildcard topic", markers.Next(),
            new RawAction(m => Publish(0x32, Utf8($"campus/+/r1/{m}/telemetry"), 1, Shapes.Reading, properties: TopicAlias(2)), RawStart.Mqtt5),
            Expectation.Topic("invalid_topic_name"));
        yield return new(Category, "alias set on a foreign topic, then used alone", markers.Next(),
            new RawAction(m => [
                .. Publish(0x32, Utf8($"devices/{m}/data"), 1, Shapes.Reading, properties: TopicAlias(4)),
                .. Publish(0x32, [], 2, Shapes.Reading, properties: TopicAlias(4)),
            ], RawStart.Mqtt5),
            Expectation.Topic("topic_not_allowed")) { AlsoCounted = new Dictionary<string, int> { ["topic_not_allowed"] = 1 } };
        yield return new(Category, "alias set on a good topic, then used alone with a bad payload", markers.Next(),
            new RawAction(m => [
                .. Publish(0x32, Shapes.TopicBytes(m), 1, "{\"temperature\":\"x\"}"u8.ToArray(), properties: TopicAlias(5)),
                .. Publish(0x32, [], 2, "{\"temperature\":NaN}"u8.ToArray(), properties: TopicAlias(5)),
            ], RawStart.Mqtt5),
            Expectation.Payload("non_numeric_metric")) { AlsoCounted = new Dictionary<string, int> { ["malformed_json"] = 1 } };
    }
}

/// <summary>Acknowledgements nobody asked for, and a refused PUBLISH with its DISCONNECT in one write.</summary>
public sealed class StrayPacketCases : IHostileCaseSource
{
    public string Category => "stray-packets";

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        foreach (var (name, header) in new[] { ("PUBACK", (byte)0x40), ("PUBREC", (byte)0x50), ("PUBREL", (byte)0x62), ("PUBCOMP", (byte)0x70) })
        {
            // A stray PUBREL is answered with PUBCOMP (MQTT 5: 0x92 Packet Identifier Not Found) and counted as such.
            Dictionary<string, int> Counted(int n) => header == 0x62 ? new() { ["packet_id_not_found"] = n } : [];
            foreach (var id in new ushort[] { 1, 4242, 65535 })
            {
                yield return new(Category, $"stray {name} for packet id {id}", markers.Next(),
                    new RawAction(_ => Ack(header, id), RawStart.Mqtt5), Expectation.Ignored) { AlsoCounted = Counted(1) };
            }

            yield return new(Category, $"stray {name} on MQTT 3.1.1", markers.Next(),
                new RawAction(_ => Ack(header, 7), RawStart.Mqtt311), Expectation.Ignored) { AlsoCounted = Counted(1) };
            yield return new(Category, $"burst of 200 stray {name}s", markers.Next(),
                new RawAction(_ => [.. Enumerable.Range(1, 200).SelectMany(i => Ack(header, (ushort)i))], RawStart.Mqtt5), Expectation.Ignored) { AlsoCounted = Counted(200) };
        }

        yield return new(Category, "PUBLISH then DISCONNECT in one write", markers.Next(),
            new RawAction(m => [.. Publish(0x32, Shapes.TopicBytes(m), 1, "{\"temperature\":1e400}"u8.ToArray()), 0xE0, 0x00], RawStart.Mqtt5),
            Expectation.Closed("non_finite_metric"));
    }
}

/// <summary>CONNECT packets that are malformed where MQTTnet already refuses them.</summary>
public sealed class ConnectCases : IHostileCaseSource
{
    public string Category => "connect";

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        foreach (var level in new byte[] { 0, 1, 2, 3, 6, 7, 255 })
        {
            yield return new(Category, $"protocol level {level}", markers.Next(),
                new RawAction(m => Connect(level, Utf8(m)), RawStart.Nothing), Expectation.Closed());
        }

        foreach (var name in new[] { "MQTX", "mqtt", "MQIsdp", "", "MQTT\0" })
        {
            yield return new(Category, $"protocol name '{name.Replace("\0", "\\0", StringComparison.Ordinal)}'", markers.Next(),
                new RawAction(m => Connect(V5, Utf8(m), protocolName: Encoding.UTF8.GetBytes(name)), RawStart.Nothing), Expectation.Closed());
        }

        yield return new(Category, "wrong password of a configured user", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), Utf8(HostileFixture.User), Utf8("wrong")), RawStart.Nothing),
            Expectation.ConnectRefused("bad_credentials", MqttConnectReasonCode.BadUserNameOrPassword));
        yield return new(Category, "unknown user", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), Utf8("nobody"), Utf8("x")), RawStart.Nothing),
            Expectation.ConnectRefused("bad_credentials", MqttConnectReasonCode.BadUserNameOrPassword));
        yield return new(Category, "empty password of a configured user", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), Utf8(HostileFixture.User), []), RawStart.Nothing),
            Expectation.ConnectRefused("bad_credentials", MqttConnectReasonCode.BadUserNameOrPassword));
        yield return new(Category, "user name with a newline (log forging)", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), Utf8("x\n2026-12-03 [ERR] forged"), Utf8("x")), RawStart.Nothing),
            Expectation.ConnectRefused("bad_credentials", MqttConnectReasonCode.BadUserNameOrPassword));
        yield return new(Category, "configured user's password with a trailing NUL", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), Utf8(HostileFixture.User), Utf8(HostileFixture.Password + "\0")), RawStart.Nothing),
            Expectation.ConnectRefused("bad_credentials", MqttConnectReasonCode.BadUserNameOrPassword));
        yield return new(Category, "MQTT 3.1.1 wrong password", markers.Next(),
            new RawAction(m => Connect(V311, Utf8(m), Utf8(HostileFixture.User), Utf8("wrong")), RawStart.Nothing),
            new Expectation(Outcome.ConnectRefused, "bad_credentials", 0x04)); // 3.1.1's CONNACK return code 4
        // Last Wills: published by the broker when the connection drops without DISCONNECT, they enter like any other
        // device message and are refused the same way (the refusal is counted once the connection has dropped).
        (string Name, Func<string, string> Topic, byte[] Payload, string Reason)[] wills =
        [
            ("Last Will with a malformed reading", Shapes.Topic, "{\"temperature\":"u8.ToArray(), "malformed_json"),
            ("Last Will on a foreign topic", m => $"devices/{m}/will", Shapes.Reading, "topic_not_allowed"),
            ("Last Will forging an alert", m => $"campus/alerts/hostile/r1/{m}/offline", "{\"state\":\"raised\"}"u8.ToArray(), "forged_alert"),
            ("Last Will status that is neither online nor offline", m => $"campus/hostile/r1/{m}/status", "rebooting"u8.ToArray(), "not_a_reading"),
            ("Last Will with a control character in the sensor level", m => $"campus/hostile/r1/{m}\u0007/telemetry", Shapes.Reading, "invalid_topic_segment"),
        ];
        foreach (var (name, topic, payload, reason) in wills)
        {
            foreach (var version in new[] { V5, V311 })
            {
                yield return new(Category, $"{name}, {(version == V5 ? "MQTT 5" : "MQTT 3.1.1")}, then the connection drops", markers.Next(),
                    new RawAction(m => Connect(version, Utf8(m), willTopic: Utf8(topic(m)), willPayload: payload), RawStart.Nothing, ThenEof: true),
                    Expectation.Closed(reason));
            }
        }

        yield return new(Category, "empty client id without clean start (MQTT 3.1.1)", markers.Next(),
            new RawAction(_ => Connect(V311, [], flags: 0x00), RawStart.Nothing), Expectation.Closed());

        // Connect flags the specification forbids (MQTT-3.1.2-3, -11, -13, -14, -22): a malformed CONNECT, closed.
        var malformed = Expectation.Closed("malformed_connect");
        yield return new(Category, "CONNECT with the reserved connect flag set", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), flags: 0x03), RawStart.Nothing), malformed);
        yield return new(Category, "CONNECT with will QoS 3", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), flags: 0x1E, willTopic: Utf8($"campus/hostile/r1/{m}/status"), willPayload: Utf8("offline")), RawStart.Nothing),
            malformed);
        yield return new(Category, "CONNECT with will QoS 1 but no will flag", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), flags: 0x0A), RawStart.Nothing), malformed);
        yield return new(Category, "MQTT 3.1.1 CONNECT with a password but no user name", markers.Next(),
            new RawAction(m => Connect(V311, Utf8(m), password: Utf8("x")), RawStart.Nothing), malformed);

        // MQTT 5 §1.5.4 (3.1.1 [MQTT-1.5.3-1]): invalid UTF-8 in a client id, will topic or user name is a malformed
        // packet: closed, not judged as a name (nor refused as bad credentials).
        foreach (var (where, id) in new (string, Func<string, byte[]>)[]
        {
            ("at its start", m => [0xFF, .. Utf8(m)]),
            ("in its middle", m => [.. Utf8(m), 0xC0, 0xAF, .. Utf8("x")]),
            ("at its end", m => [.. Utf8(m), 0xF0, 0x9F]),
            ("as a UTF-16 surrogate half", m => [.. Utf8(m), 0xED, 0xA0, 0x80]),
        })
        {
            yield return new(Category, $"client id with invalid UTF-8 {where}", markers.Next(),
                new RawAction(m => Connect(V5, id(m)), RawStart.Nothing), malformed);
        }

        yield return new(Category, "client id with invalid UTF-8, MQTT 3.1.1", markers.Next(),
            new RawAction(m => Connect(V311, [.. Utf8(m), 0xFF]), RawStart.Nothing), malformed);
        yield return new(Category, "user name with invalid UTF-8", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), [.. Utf8("hx-"), 0xFF], Utf8("x")), RawStart.Nothing), malformed);
        yield return new(Category, "configured user name with an invalid UTF-8 byte appended, right password", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), [.. Utf8(HostileFixture.User), 0xC0], Utf8(HostileFixture.Password)), RawStart.Nothing), malformed);
        yield return new(Category, "will topic with invalid UTF-8", markers.Next(),
            new RawAction(m => Connect(V5, Utf8(m), willTopic: [.. Utf8($"campus/hostile/r1/{m}/"), 0xFE], willPayload: Utf8("offline")), RawStart.Nothing), malformed);
    }
}
