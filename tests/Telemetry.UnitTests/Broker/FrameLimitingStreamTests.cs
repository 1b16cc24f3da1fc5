using MQTTnet.Exceptions;
using Telemetry.Broker;
using Telemetry.Broker.Transport;

namespace Telemetry.UnitTests.Broker;

/// <summary>
/// The raw-byte checks of <see cref="FrameLimitingStream"/>: fixed-header flags, a second CONNECT, SUBSCRIBE and
/// UNSUBSCRIBE bodies, and the UTF-8 of CONNECT's names — each refused with its reason before MQTTnet sees the packet,
/// and well-formed packets passed through untouched, however the bytes are split across reads.
/// </summary>
public sealed class FrameLimitingStreamTests
{
    static readonly byte[] Connect5 = Packet(0x10, [0, 4, .. "MQTT"u8, 5, 0x02, 0, 60, 0, .. Str("dev-1"u8)]);
    static readonly byte[] Connect311 = Packet(0x10, [0, 4, .. "MQTT"u8, 4, 0x02, 0, 60, .. Str("dev-1"u8)]);

    static byte[] Packet(byte header, byte[] body) => [header, (byte)body.Length, .. body];

    static byte[] Str(ReadOnlySpan<byte> bytes) => [(byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes];

    /// <summary>Reads <paramref name="bytes"/> through the stream in reads of <paramref name="chunk"/> bytes; the refusal, or null.</summary>
    static (string Reason, string Detail)? ReadThrough(byte[] bytes, int chunk = 4096)
    {
        (string, string)? refused = null;
        using var stream = new FrameLimitingStream(new MemoryStream(bytes), 1 << 20, _ => refused = ("packet_too_large", ""),
            (reason, detail) => refused = (reason, detail));
        var buffer = new byte[chunk];
        try
        {
            while (stream.Read(buffer, 0, buffer.Length) > 0)
            {
            }
        }
        catch (MqttProtocolViolationException)
        {
            Assert.NotNull(refused);
        }

        return refused;
    }

    public static TheoryData<byte> ForbiddenHeaders() => [0x41, 0x44, 0x58, 0x60, 0x61, 0x63, 0x7F, 0x80, 0x83, 0xA0, 0xAA, 0xC1, 0xC8, 0xE1, 0xEF, 0xF2];

    [Theory]
    [MemberData(nameof(ForbiddenHeaders))]
    public void Fixed_header_flags_other_than_the_specification_s_are_a_malformed_packet(byte header)
    {
        Assert.NotNull(FrameLimitingStream.FixedHeaderProblem(header));
        var refused = ReadThrough([.. Connect5, header, 0x00]);
        Assert.Equal(ConnectionRefusals.MalformedPacket, refused?.Reason);
    }

    [Theory]
    [InlineData(0x10)]
    [InlineData(0x30)]
    [InlineData(0x3D)]
    [InlineData(0x40)]
    [InlineData(0x50)]
    [InlineData(0x62)]
    [InlineData(0x70)]
    [InlineData(0x82)]
    [InlineData(0xA2)]
    [InlineData(0xC0)]
    [InlineData(0xE0)]
    [InlineData(0xF0)]
    public void The_flags_the_specification_requires_pass(byte header)
    {
        Assert.Null(FrameLimitingStream.FixedHeaderProblem(header));
    }

    [Fact]
    public void A_CONNECT_header_with_flags_before_anything_else_is_a_malformed_CONNECT()
    {
        Assert.Equal(ConnectionRefusals.MalformedConnect, ReadThrough([0x12, .. Connect5[1..]])?.Reason);
    }

    [Fact]
    public void A_second_CONNECT_is_a_protocol_error()
    {
        Assert.Equal(ConnectionRefusals.ProtocolError, ReadThrough([.. Connect5, .. Connect5])?.Reason);
    }

    public static TheoryData<string, bool, byte[]> BadSubscriptions() => new()
    {
        { "SUBSCRIBE without a filter (MQTT 5)", true, Packet(0x82, [0, 1, 0]) },
        { "SUBSCRIBE without a filter (3.1.1)", false, Packet(0x82, [0, 1]) },
        { "SUBSCRIBE with QoS 3", true, Packet(0x82, [0, 1, 0, .. Str("a/b"u8), 0x03]) },
        { "SUBSCRIBE with reserved bits (MQTT 5)", true, Packet(0x82, [0, 1, 0, .. Str("a/b"u8), 0x40]) },
        { "SUBSCRIBE with reserved bits (3.1.1)", false, Packet(0x82, [0, 1, .. Str("a/b"u8), 0x04]) },
        { "SUBSCRIBE with retain handling 3", true, Packet(0x82, [0, 1, 0, .. Str("a/b"u8), 0x30]) },
        { "SUBSCRIBE whose second filter has QoS 3", true, Packet(0x82, [0, 1, 0, .. Str("a"u8), 0x01, .. Str("b"u8), 0x03]) },
        { "SUBSCRIBE without its options byte", true, Packet(0x82, [0, 1, 0, .. Str("a/b"u8)]) },
        { "SUBSCRIBE with an empty body", true, Packet(0x82, []) },
        { "UNSUBSCRIBE without a filter (MQTT 5)", true, Packet(0xA2, [0, 1, 0]) },
        { "UNSUBSCRIBE without a filter (3.1.1)", false, Packet(0xA2, [0, 1]) },
    };

    [Theory]
    [MemberData(nameof(BadSubscriptions))]
    public void Malformed_subscriptions_are_refused_however_the_bytes_arrive(string name, bool v5, byte[] packet)
    {
        foreach (var chunk in new[] { 1, 3, 4096 })
        {
            var refused = ReadThrough([.. v5 ? Connect5 : Connect311, .. packet], chunk);
            Assert.True(refused?.Reason == ConnectionRefusals.MalformedPacket, $"{name}, reads of {chunk}: {refused}");
        }
    }

    public static TheoryData<string, bool, byte[]> GoodSubscriptions() => new()
    {
        { "SUBSCRIBE with every allowed option (MQTT 5)", true, Packet(0x82, [0, 1, 0, .. Str("a/#"u8), 0x2E, .. Str("b/+"u8), 0x00]) },
        { "SUBSCRIBE with a subscription identifier", true, Packet(0x82, [0, 1, 2, 0x0B, 0x05, .. Str("a"u8), 0x01]) },
        { "SUBSCRIBE QoS 2 (3.1.1)", false, Packet(0x82, [0, 1, .. Str("a/b"u8), 0x02]) },
        { "UNSUBSCRIBE of two filters", true, Packet(0xA2, [0, 1, 0, .. Str("a"u8), .. Str("b"u8)]) },
    };

    [Theory]
    [MemberData(nameof(GoodSubscriptions))]
    public void Well_formed_subscriptions_pass_through_unchanged(string name, bool v5, byte[] packet)
    {
        byte[] bytes = [.. v5 ? Connect5 : Connect311, .. packet];
        using var stream = new FrameLimitingStream(new MemoryStream(bytes), 1 << 20, _ => Assert.Fail("too large"), (r, d) => Assert.Fail($"{name}: {r} {d}"));
        var copy = new MemoryStream();
        stream.CopyTo(copy, 1);
        Assert.Equal(bytes, copy.ToArray());
    }

    static byte[] Publish5(byte header, byte[] topic, byte[] properties, bool packetId = true) =>
        Packet(header, [.. Str(topic), .. packetId ? [(byte)0, (byte)1] : Array.Empty<byte>(), (byte)properties.Length, .. properties, .. "{\"t\":1}"u8]);

    public static TheoryData<string, byte[]> AliasZero() => new()
    {
        { "alone", Publish5(0x32, "a/b"u8.ToArray(), [0x23, 0, 0]) },
        { "QoS 0, no topic", Publish5(0x30, [], [0x23, 0, 0], packetId: false) },
        { "after other properties", Publish5(0x32, "a/b"u8.ToArray(), [0x01, 1, 0x02, 0, 0, 0, 9, 0x26, .. Str("k"u8), .. Str("v"u8), 0x08, .. Str("r"u8), 0x23, 0, 0]) },
    };

    [Theory]
    [MemberData(nameof(AliasZero))]
    public void An_MQTT_5_PUBLISH_with_topic_alias_0_is_a_protocol_error_however_the_bytes_arrive(string name, byte[] publish)
    {
        foreach (var chunk in new[] { 1, 2, 5, 4096 })
        {
            var refused = ReadThrough([.. Connect5, .. publish], chunk);
            Assert.True(refused?.Reason == ConnectionRefusals.ProtocolError, $"{name}, reads of {chunk}: {refused}");
        }
    }

    [Fact]
    public void Topic_aliases_above_0_and_MQTT_3_publishes_pass()
    {
        Assert.Null(ReadThrough([.. Connect5, .. Publish5(0x32, "a/b"u8.ToArray(), [0x23, 0, 1]), .. Publish5(0x30, [], [0x23, 0, 1], packetId: false)], 1));
        Assert.Null(ReadThrough([.. Connect5, .. Publish5(0x32, "a/b"u8.ToArray(), [])], 3));
        // MQTT 3.1.1 has no properties: the same bytes are topic, packet id and payload, never judged as an alias.
        Assert.Null(ReadThrough([.. Connect311, .. Packet(0x32, [.. Str("a/b"u8), 0, 1, 3, 0x23, 0, 0])], 1));
    }

    [Fact]
    public void The_head_length_of_a_PUBLISH_is_known_as_its_bytes_arrive()
    {
        byte[] head = [0, 3, .. "a/b"u8, 0, 7, 3, 0x23, 0, 4];
        Assert.Equal(2, FrameLimitingStream.PublishHeadLength([], hasPacketId: true));
        Assert.Equal(8, FrameLimitingStream.PublishHeadLength(head.AsSpan(0, 2), hasPacketId: true));
        Assert.Equal(head.Length, FrameLimitingStream.PublishHeadLength(head.AsSpan(0, 8), hasPacketId: true));
        Assert.Equal(-1, FrameLimitingStream.PublishHeadLength([0, 0, 0xFF, 0xFF, 0xFF, 0xFF], hasPacketId: false));
        Assert.Null(FrameLimitingStream.PublishPropertiesProblem(head, hasPacketId: true));
    }

    public static TheoryData<string, byte[]> BadConnects() => new()
    {
        { "client id 0xFF", Packet(0x10, [0, 4, .. "MQTT"u8, 5, 0x02, 0, 60, 0, .. Str([.. "dev"u8, 0xFF])]) },
        { "client id overlong '/'", Packet(0x10, [0, 4, .. "MQTT"u8, 4, 0x02, 0, 60, .. Str([0xC0, 0xAF])]) },
        { "client id surrogate half", Packet(0x10, [0, 4, .. "MQTT"u8, 5, 0x02, 0, 60, 0, .. Str([0xED, 0xA0, 0x80])]) },
        { "client id truncated sequence", Packet(0x10, [0, 4, .. "MQTT"u8, 5, 0x02, 0, 60, 0, .. Str([.. "d"u8, 0xF0, 0x9F])]) },
        { "user name", Packet(0x10, [0, 4, .. "MQTT"u8, 5, 0xC2, 0, 60, 0, .. Str("dev"u8), .. Str([.. "u"u8, 0xFE]), .. Str("pw"u8)]) },
        { "will topic", Packet(0x10, [0, 4, .. "MQTT"u8, 5, 0x06, 0, 60, 0, .. Str("dev"u8), 0, .. Str([.. "w/"u8, 0xFF]), .. Str("x"u8)]) },
    };

    [Theory]
    [MemberData(nameof(BadConnects))]
    public void A_CONNECT_with_invalid_UTF8_in_a_name_is_a_malformed_CONNECT(string name, byte[] connect)
    {
        var refused = ReadThrough(connect, 2);
        Assert.True(refused?.Reason == ConnectionRefusals.MalformedConnect, $"{name}: {refused}");
    }

    [Fact]
    public void A_CONNECT_with_UTF8_names_properties_a_will_and_a_binary_password_passes()
    {
        byte[] connect = Packet(0x10,
        [
            0, 4, .. "MQTT"u8, 5, 0xC6, 0, 60, 3, 0x21, 0, 10, // Receive Maximum property
            .. Str("gerät-ü-😀"u8), 0, .. Str("campus/b/r/s/status"u8), .. Str("offline"u8), .. Str("ünïcode"u8), .. Str([0xFF, 0x00, 0xFE]),
        ]);
        Assert.Null(FrameLimitingStream.ConnectPayloadProblem(connect.AsSpan(2)));
        Assert.Null(ReadThrough(connect, 1));
    }
}
