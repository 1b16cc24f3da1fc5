using static Telemetry.IntegrationTests.Hostile.MqttBytes;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>Shared bits of the case sources.</summary>
internal static class Shapes
{
    public static string Topic(string marker) => $"campus/hostile/r1/{marker}/telemetry";

    public static byte[] TopicBytes(string marker) => Utf8(Topic(marker));

    public static readonly byte[] Reading = "{\"temperature\":21.5}"u8.ToArray();

    /// <summary>A valid QoS 1 PUBLISH of a reading for the marker's sensor.</summary>
    public static byte[] GoodPublish(string marker, bool v5 = true, ushort packetId = 1) => Publish(0x32, TopicBytes(marker), packetId, Reading, v5);
}

/// <summary>
/// Framing abuse on raw sockets: invalid remaining lengths, reserved packet types, packets
/// before CONNECT, truncated packets, oversized length headers.
/// </summary>
public sealed class FramingCases : IHostileCaseSource
{
    public string Category => "framing";

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        // Invalid remaining-length encodings, on the first packet and after CONNECT. A variable byte integer has at most
        // four bytes; a fourth byte with its continuation bit set is malformed.
        (string Name, byte[] Length, Expectation Expected)[] lengths =
        [
            ("five length bytes, value above the packet limit", [0xFF, 0xFF, 0xFF, 0xFF, 0x7F], Expectation.Closed("packet_too_large")),
            ("four continuation bytes of zero", [0x80, 0x80, 0x80, 0x80, 0x01], Expectation.Closed()),
            ("four continuation bytes then a fifth", [0x81, 0x80, 0x80, 0x80, 0x00], Expectation.Closed()),
            ("256 MB length header (the largest)", [0xFF, 0xFF, 0xFF, 0x7F], Expectation.Closed("packet_too_large")),
            ("4 MiB + 1 length header", [.. VarInt((4 << 20) + 1)], Expectation.Closed("packet_too_large")),
            ("16 MiB length header", [.. VarInt(16 << 20)], Expectation.Closed("packet_too_large")),
        ];
        foreach (var (start, where) in new[] { (RawStart.Nothing, "before CONNECT"), (RawStart.Mqtt5, "after CONNECT") })
        {
            foreach (var header in new byte[] { 0x10, 0x32, 0x82 })
            {
                foreach (var (name, length, expected) in lengths)
                {
                    // The header alone decides first: any packet but CONNECT before CONNECT, and a second CONNECT, are
                    // refused before their length is read.
                    var outcome = start == RawStart.Nothing && header != 0x10 ? Expectation.Closed("packet_before_connect")
                        : start != RawStart.Nothing && header == 0x10 ? Expectation.Closed("protocol_error")
                        : expected;
                    yield return new(Category, $"{name}, header 0x{header:X2} {where}", markers.Next(),
                        new RawAction(_ => [header, .. length], start), outcome);
                }
            }
        }

        // A remaining length that promises more than is sent, and then the client goes away: nothing half-read is used.
        foreach (var (start, where) in new[] { (RawStart.Nothing, "before CONNECT"), (RawStart.Mqtt5, "after CONNECT") })
        {
            var beforeConnect = start == RawStart.Nothing ? Expectation.Closed("packet_before_connect") : Expectation.Closed();
            foreach (var cut in new[] { 1, 2, 5, 20 })
            {
                yield return new(Category, $"PUBLISH cut after {cut} bytes, then EOF, {where}", markers.Next(),
                    new RawAction(m => Shapes.GoodPublish(m)[..cut], start, ThenEof: true), beforeConnect);
            }

            yield return new(Category, $"PUBLISH missing its last payload byte, then EOF, {where}", markers.Next(),
                new RawAction(m => Shapes.GoodPublish(m)[..^1], start, ThenEof: true), beforeConnect);
            yield return new(Category, $"CONNECT cut in its client id, then EOF, {where}", markers.Next(),
                new RawAction(m => Connect(V5, Utf8(m))[..^3], start, ThenEof: true),
                start == RawStart.Nothing ? Expectation.Closed() : Expectation.Closed("protocol_error"));
            yield return new(Category, $"SUBSCRIBE cut in its filter, then EOF, {where}", markers.Next(),
                new RawAction(m => Subscribe(Utf8("campus/#"), 0x01)[..^3], start, ThenEof: true), beforeConnect);
        }

        // A remaining length shorter than the packet's content: the rest is read as the next packet.
        yield return new(Category, "PUBLISH whose remaining length cuts its topic", markers.Next(),
            new RawAction(m => [0x32, 0x05, .. Shapes.GoodPublish(m)[2..]], RawStart.Mqtt5), Expectation.Closed());
        yield return new(Category, "PUBLISH whose remaining length cuts its packet id", markers.Next(),
            new RawAction(m => [0x32, (byte)(2 + Shapes.TopicBytes(m).Length + 1), .. Shapes.GoodPublish(m)[2..]], RawStart.Mqtt5), Expectation.Closed());

        // Every packet type a client may not send first: the server expects CONNECT and closes.
        (string Name, Func<string, byte[]> Bytes)[] firstPackets =
        [
            ("CONNACK", _ => [0x20, 0x03, 0x00, 0x00, 0x00]),
            ("PUBLISH QoS 0", m => Publish(0x30, Shapes.TopicBytes(m), 0, Shapes.Reading)),
            ("PUBLISH QoS 1", m => Shapes.GoodPublish(m)),
            ("PUBLISH QoS 2", m => Publish(0x34, Shapes.TopicBytes(m), 1, Shapes.Reading)),
            ("PUBACK", _ => Ack(0x40, 1)),
            ("PUBREC", _ => Ack(0x50, 1)),
            ("PUBREL", _ => Ack(0x62, 1)),
            ("PUBCOMP", _ => Ack(0x70, 1)),
            ("SUBSCRIBE", _ => Subscribe(Utf8("#"), 0x01)),
            ("SUBACK", _ => [0x90, 0x04, 0x00, 0x01, 0x00, 0x00]),
            ("UNSUBSCRIBE", _ => Unsubscribe(Utf8("#"))),
            ("UNSUBACK", _ => [0xB0, 0x04, 0x00, 0x01, 0x00, 0x00]),
            ("PINGREQ", _ => PingReq),
            ("PINGRESP", _ => [0xD0, 0x00]),
            ("DISCONNECT", _ => [0xE0, 0x00]),
            ("AUTH", _ => [0xF0, 0x00]),
            ("reserved type 0", _ => [0x00, 0x00]),
            // 'G' reads as a PUBACK header and 'E' as a remaining length of 69: the request is long enough to complete it.
            ("HTTP request", _ => "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: hostile-input-suite/1.0 (a request long enough to be read whole)\r\n\r\n"u8.ToArray()),
            ("TLS ClientHello", _ => [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]),
            ("PUBLISH QoS 1 then a valid CONNECT", m => [.. Shapes.GoodPublish(m), .. Connect(V5, Utf8(m))]),
        ];
        foreach (var (name, bytes) in firstPackets)
        {
            // 0x16 (a TLS record) reads as a CONNECT header with flags 0110: a malformed CONNECT.
            yield return new(Category, $"{name} before CONNECT", markers.Next(), new RawAction(bytes, RawStart.Nothing),
                Expectation.Closed(name == "TLS ClientHello" ? "malformed_connect" : "packet_before_connect"));
        }

        // Slow-loris before CONNECT: a first packet whose announced length never arrives is closed at the CONNECT
        // deadline (Broker:ConnectTimeout, 3 s in the suite's service). 'G' reads as a PUBACK header: refused at once.
        yield return new(Category, "a short HTTP request before CONNECT (announces 69 bytes, sends 25)", markers.Next(),
            new RawAction(_ => "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), RawStart.Nothing), Expectation.Closed("packet_before_connect"));
        yield return new(Category, "CONNECT announcing 200 bytes, 10 sent, then silence", markers.Next(),
            new RawAction(m => [0x10, .. VarInt(200), .. Connect(V5, Utf8(m))[2..12]], RawStart.Nothing, ThenSilence: true), Expectation.Closed("connect_timeout"));
        yield return new(Category, "CONNECT's fixed header alone, then silence", markers.Next(),
            new RawAction(_ => [0x10], RawStart.Nothing, ThenSilence: true), Expectation.Closed("connect_timeout"));

        // Packet types a server never receives, after CONNECT; and a second CONNECT.
        (string Name, Func<string, byte[]> Bytes)[] serverOnly =
        [
            ("second CONNECT", m => Connect(V5, Utf8(m))),
            ("CONNACK", _ => [0x20, 0x03, 0x00, 0x00, 0x00]),
            ("SUBACK", _ => [0x90, 0x04, 0x00, 0x01, 0x00, 0x00]),
            ("UNSUBACK", _ => [0xB0, 0x04, 0x00, 0x01, 0x00, 0x00]),
            ("PINGRESP", _ => [0xD0, 0x00]),
            ("reserved type 0", _ => [0x00, 0x00]),
        ];
        foreach (var (name, bytes) in serverOnly)
        {
            yield return new(Category, $"{name} after CONNECT", markers.Next(), new RawAction(bytes, RawStart.Mqtt5),
                Expectation.Closed(name == "second CONNECT" ? "protocol_error" : null));
        }

        // Slow-loris after CONNECT: the keep-alive the client asked for is enforced (MQTTnet closes after 1.5 x it), also
        // when the client went silent in the middle of a packet. (Before CONNECT, and with keep-alive 0, nothing closes
        // a silent socket yet: issue 11's CONNECT deadline and maximum keep-alive.)
        foreach (var v5 in new[] { true, false })
        {
            var start = v5 ? RawStart.Mqtt5 : RawStart.Mqtt311;
            var version = v5 ? "MQTT 5" : "MQTT 3.1.1";
            yield return new(Category, $"keep-alive 1 s, then silence, {version}", markers.Next(),
                new RawAction(_ => [], start, ThenSilence: true, KeepAlive: 1), Expectation.Closed());
            yield return new(Category, $"keep-alive 1 s, half a PUBLISH, then silence, {version}", markers.Next(),
                new RawAction(m => Shapes.GoodPublish(m, v5)[..12], start, ThenSilence: true, KeepAlive: 1), Expectation.Closed());
            yield return new(Category, $"keep-alive 2 s, a length header announcing 1 MB, then silence, {version}", markers.Next(),
                new RawAction(_ => [0x32, .. VarInt(1 << 20)], start, ThenSilence: true, KeepAlive: 2), Expectation.Closed());
        }

        // MQTT 5 §2.1.3 / 3.1.1 [MQTT-2.1.3-1]: wrong fixed-header flags are a malformed packet: closed, whatever the type.
        (string Name, byte Type, byte Required, Func<byte, byte[]> Bytes)[] types =
        [
            ("PUBACK", 0x40, 0x00, h => Ack(h, 1)),
            ("PUBREC", 0x50, 0x00, h => Ack(h, 1)),
            ("PUBREL", 0x60, 0x02, h => Ack(h, 1)),
            ("PUBCOMP", 0x70, 0x00, h => Ack(h, 1)),
            ("SUBSCRIBE", 0x80, 0x02, h => Subscribe(Utf8("campus/hostile/none"), 0x01, header: h)),
            ("UNSUBSCRIBE", 0xA0, 0x02, h => Unsubscribe(Utf8("campus/hostile/none"), header: h)),
            ("PINGREQ", 0xC0, 0x00, h => [h, 0x00]),
            ("DISCONNECT", 0xE0, 0x00, h => [h, 0x00]),
        ];
        foreach (var (name, type, required, bytes) in types)
        {
            foreach (var flags in new byte[] { 0x01, 0x04, 0x08, 0x0F })
            {
                var header = (byte)(type | flags);
                yield return new(Category, $"{name} with fixed-header flags 0x{flags:X1} (must be 0x{required:X1})", markers.Next(),
                    new RawAction(_ => bytes(header), RawStart.Mqtt5), Expectation.Closed("malformed_packet"));
            }
        }

        foreach (var flags in new byte[] { 0x01, 0x02, 0x08, 0x0F })
        {
            yield return new(Category, $"CONNECT with fixed-header flags 0x{flags:X1}", markers.Next(),
                new RawAction(m => Connect(V5, Utf8(m), header: (byte)(0x10 | flags)), RawStart.Nothing), Expectation.Closed("malformed_connect"));
        }

        // MQTT 5 §3.8.3, §3.10.3 (3.1.1 §3.8.3, §3.10.3 alike): a SUBSCRIBE or UNSUBSCRIBE without a filter, subscription
        // options with QoS 3, reserved bits or retain handling 3.
        yield return new(Category, "SUBSCRIBE without any filter", markers.Next(),
            new RawAction(_ => Packet(0x82, [0x00, 0x01, 0x00]), RawStart.Mqtt5), Expectation.Closed("malformed_packet"));
        yield return new(Category, "SUBSCRIBE without any filter, MQTT 3.1.1", markers.Next(),
            new RawAction(_ => Packet(0x82, [0x00, 0x01]), RawStart.Mqtt311), Expectation.Closed("malformed_packet"));
        yield return new(Category, "UNSUBSCRIBE without any filter", markers.Next(),
            new RawAction(_ => Unsubscribe(null), RawStart.Mqtt5), Expectation.Closed("malformed_packet"));
        yield return new(Category, "UNSUBSCRIBE without any filter, MQTT 3.1.1", markers.Next(),
            new RawAction(_ => Unsubscribe(null, v5: false), RawStart.Mqtt311), Expectation.Closed("malformed_packet"));
        foreach (var (what, options) in new (string, byte)[] { ("QoS 3", 0x03), ("reserved option bits", 0xC1), ("reserved bit 6", 0x41), ("retain handling 3", 0x31) })
        {
            yield return new(Category, $"SUBSCRIBE with {what} in its options", markers.Next(),
                new RawAction(_ => Subscribe(Utf8("campus/hostile/none"), options), RawStart.Mqtt5), Expectation.Closed("malformed_packet"));
        }

        foreach (var (what, options) in new (string, byte)[] { ("QoS 3", 0x03), ("reserved option bits", 0x05) })
        {
            yield return new(Category, $"SUBSCRIBE with {what} in its options, MQTT 3.1.1", markers.Next(),
                new RawAction(_ => Subscribe(Utf8("campus/hostile/none"), options, v5: false), RawStart.Mqtt311), Expectation.Closed("malformed_packet"));
        }

        yield return new(Category, "SUBSCRIBE whose second filter has QoS 3", markers.Next(),
            new RawAction(_ => Packet(0x82, [0x00, 0x01, 0x00, .. Str("campus/hostile/a"), 0x01, .. Str("campus/hostile/b"), 0x03]), RawStart.Mqtt5),
            Expectation.Closed("malformed_packet"));
    }
}
