using System.Net.Sockets;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet.Protocol;
using Telemetry.Broker;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// PUBLISH packets that break MQTT's own rules — which MQTTnet hands on instead of refusing — are refused by the
/// broker with their reason, counted, and never stored. Written on a raw socket, since a well-behaved client library
/// will not send them.
/// </summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class StrictProtocolTests(ServiceOnInfluxV1Fixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, byte[]> BadTopics() => new()
    {
        { "plus", "campus/strict/r1/+/telemetry"u8.ToArray() },
        { "hash", "campus/strict/r1/{sensor}/#"u8.ToArray() },
        { "plus-in-level", "campus/strict/r+1/{sensor}/telemetry"u8.ToArray() },
        { "nul", "campus/strict/r1/{sensor}\0/telemetry"u8.ToArray() },
        // 0xC3 0x28 is not UTF-8 (a lead byte followed by no continuation byte); MQTTnet decodes it as U+FFFD.
        { "bad-utf8", [.. "campus/strict/r1/{sensor}"u8, 0xC3, 0x28, .. "/telemetry"u8] },
    };

    [Theory]
    [MemberData(nameof(BadTopics))]
    public async Task A_topic_with_wildcards_NUL_or_invalid_UTF8_is_refused_as_topic_name_invalid_and_not_stored(string name, byte[] topicShape)
    {
        var sensor = $"st-{name}-{Guid.NewGuid():N}"[..20];
        // Latin-1 maps bytes to chars one to one, so the invalid UTF-8 bytes survive the substitution unchanged.
        var topic = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(topicShape).Replace("{sensor}", sensor, StringComparison.Ordinal));
        var before = await fixture.Service.RefusalTotalsAsync(Ct);

        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, sensor, Ct);
        var (reasonCode, reasonString) = await raw.PublishQos1Async(topic, "{\"temperature\":21}"u8.ToArray(), packetId: 7, Ct);

        Assert.Equal((byte)MqttPubAckReasonCode.TopicNameInvalid, reasonCode);
        Assert.StartsWith("invalid_topic_name", reasonString, StringComparison.Ordinal);
        var after = await fixture.Service.RefusalTotalsAsync(Ct);
        Assert.Equal(1, after.GetValueOrDefault("invalid_topic_name") - before.GetValueOrDefault("invalid_topic_name"));

        // The connection stays usable: a good reading of the same device is stored, and only that one.
        var good = await raw.PublishQos1Async(Encoding.UTF8.GetBytes($"campus/strict/r1/{sensor}/telemetry"), "{\"temperature\":22.5}"u8.ToArray(), packetId: 8, Ct);
        Assert.Equal((byte)MqttPubAckReasonCode.Success, good.ReasonCode);
        await AssertOnlyTheGoodReadingStoredAsync(sensor);
    }

    [Fact]
    public async Task A_QoS_3_publish_is_refused_counted_not_stored_and_closes_the_connection()
    {
        var sensor = $"st-qos3-{Guid.NewGuid():N}"[..20];
        var before = await fixture.Service.RefusalTotalsAsync(Ct);

        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, sensor, Ct);
        await raw.SendAsync(RawMqtt5.Publish(0x36, Encoding.UTF8.GetBytes($"campus/strict/r1/{sensor}/telemetry"), packetId: 3, [], "{\"temperature\":99}"u8.ToArray()), Ct);
        var closed = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(15), Ct);
        Assert.True(closed, "the connection stayed open after a QoS 3 PUBLISH");

        var after = await fixture.Service.RefusalTotalsAsync(Ct);
        Assert.Equal(1, after.GetValueOrDefault("invalid_qos") - before.GetValueOrDefault("invalid_qos"));

        using var good = await fixture.Service.ConnectAsync($"{sensor}-ok", MqttProtocolVersion.V500, Ct);
        var result = await good.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"campus/strict/r1/{sensor}/telemetry").WithPayload("{\"temperature\":22.5}"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        Assert.True(result.IsSuccess);
        await AssertOnlyTheGoodReadingStoredAsync(sensor);
    }

    [Fact]
    public async Task The_broker_advertises_a_small_topic_alias_maximum_and_closes_a_connection_that_goes_above_it()
    {
        var sensor = $"st-alias-{Guid.NewGuid():N}"[..20];
        var topic = Encoding.UTF8.GetBytes($"campus/strict/r1/{sensor}/telemetry");

        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, sensor, Ct);
        Assert.Equal(10, raw.TopicAliasMaximum); // Broker:TopicAliasMaximum's default; MQTTnet's own is 65,535

        // Aliases within the maximum work: set alias 10 with the topic, then publish on the alias alone.
        Assert.Equal((byte)MqttPubAckReasonCode.Success, (await raw.PublishQos1Async(topic, "{\"temperature\":22.5}"u8.ToArray(), 1, Ct, alias: 10)).ReasonCode);
        Assert.Equal((byte)MqttPubAckReasonCode.Success, (await raw.PublishQos1Async([], "{\"temperature\":22.5}"u8.ToArray(), 2, Ct, alias: 10)).ReasonCode);

        var before = await fixture.Service.RefusalTotalsAsync(Ct);
        await raw.SendAsync(RawMqtt5.Publish(0x32, topic, packetId: 3, RawMqtt5.AliasProperty(11), "{\"temperature\":99}"u8.ToArray()), Ct);
        Assert.True(await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(15), Ct), "the connection stayed open after topic alias 11");
        var after = await Poll.UntilAsync("the alias refusal to be counted", () => fixture.Service.RefusalTotalsAsync(Ct),
            totals => totals.GetValueOrDefault("topic_alias_invalid") > before.GetValueOrDefault("topic_alias_invalid"), cancellationToken: Ct);
        Assert.Equal(1, after.GetValueOrDefault("topic_alias_invalid") - before.GetValueOrDefault("topic_alias_invalid"));

        await AssertOnlyTheGoodReadingStoredAsync(sensor);
    }

    public static TheoryData<string, byte, byte> MalformedConnects() => new()
    {
        { "reserved-flag-mqtt5", 5, 0x03 },
        { "reserved-flag-mqtt311", 4, 0x03 },
        { "will-qos-3", 5, 0x1E },
        { "will-qos-without-will", 5, 0x0A },
        { "will-retain-without-will", 4, 0x22 },
        { "password-without-username-mqtt311", 4, 0x42 },
    };

    [Theory]
    [MemberData(nameof(MalformedConnects))]
    public async Task A_CONNECT_with_flags_the_specification_forbids_closes_the_connection_and_is_counted(string name, byte level, byte flags)
    {
        var before = await ConnectionsRefusedAsync("malformed_connect");
        using var raw = await RawMqtt5.OpenAsync(fixture.Service.MqttPort, Ct);
        byte[][] fields = (flags & 0x04) != 0 ? [[], "campus/will"u8.ToArray(), "offline"u8.ToArray()] : (flags & 0x40) != 0 ? ["secret"u8.ToArray()] : [];
        await raw.SendAsync(RawMqtt5.Connect(level, flags, 60, $"st-connect-{name}"[..Math.Min(23, 11 + name.Length)], fields), Ct);

        Assert.True(await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(15), Ct), $"the connection stayed open after a CONNECT with flags 0x{flags:X2}");
        await Poll.UntilAsync("the malformed CONNECT to be counted", () => ConnectionsRefusedAsync("malformed_connect"), n => n >= before + 1, cancellationToken: Ct);
    }

    [Fact]
    public async Task An_MQTT_5_CONNECT_with_a_password_and_no_username_is_allowed_as_MQTT_5_allows_it()
    {
        using var raw = await RawMqtt5.OpenAsync(fixture.Service.MqttPort, Ct);
        await raw.SendAsync(RawMqtt5.Connect(5, 0x42, 60, "st-password-only", "secret"u8.ToArray()), Ct);
        var (type, connAck) = await raw.ReadPacketAsync(Ct);
        Assert.Equal(0x20, type & 0xF0);
        Assert.Equal(0, connAck[1]);
    }

    [Fact]
    public async Task A_packet_before_CONNECT_closes_the_connection_and_is_counted()
    {
        var before = await ConnectionsRefusedAsync("packet_before_connect");
        using var raw = await RawMqtt5.OpenAsync(fixture.Service.MqttPort, Ct);
        await raw.SendAsync(RawMqtt5.Packet(0xC0, []), Ct); // PINGREQ

        Assert.True(await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(15), Ct), "the connection stayed open after a PINGREQ before CONNECT");
        await Poll.UntilAsync("the packet before CONNECT to be counted", () => ConnectionsRefusedAsync("packet_before_connect"), n => n >= before + 1, cancellationToken: Ct);
    }

    [Theory]
    [InlineData(0x32)]
    [InlineData(0x34)]
    public async Task A_QoS_1_or_2_publish_with_packet_identifier_0_closes_the_connection_counted_and_not_stored(byte header)
    {
        var sensor = $"st-pid0-{Guid.NewGuid():N}"[..20];
        var ingest = fixture.Service.Services.GetRequiredService<IngestHandler>();
        var before = await fixture.Service.RefusalTotalsAsync(Ct);
        var accepted = ingest.MessagesAccepted;

        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, sensor, Ct);
        await raw.SendAsync(RawMqtt5.Publish(header, Encoding.UTF8.GetBytes($"campus/strict/r1/{sensor}/telemetry"), packetId: 0, [], "{\"temperature\":99}"u8.ToArray()), Ct);

        Assert.True(await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(15), Ct), "the connection stayed open after packet identifier 0");
        var after = await Poll.UntilAsync("the packet id 0 refusal to be counted", () => fixture.Service.RefusalTotalsAsync(Ct),
            totals => totals.GetValueOrDefault("invalid_packet_id") > before.GetValueOrDefault("invalid_packet_id"), cancellationToken: Ct);
        Assert.Equal(1, after.GetValueOrDefault("invalid_packet_id") - before.GetValueOrDefault("invalid_packet_id"));
        Assert.Equal(accepted, ingest.MessagesAccepted);
    }

    [Fact]
    public async Task A_QoS_2_publish_sent_again_before_PUBREL_is_processed_once_and_its_PUBREC_sent_again()
    {
        var sensor = $"st-qos2-{Guid.NewGuid():N}"[..20];
        var topic = Encoding.UTF8.GetBytes($"campus/strict/r1/{sensor}/telemetry");
        var ingest = fixture.Service.Services.GetRequiredService<IngestHandler>();
        var before = await fixture.Service.RefusalTotalsAsync(Ct);
        var accepted = ingest.MessagesAccepted;

        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, sensor, Ct);
        await raw.SendAsync(RawMqtt5.Publish(0x34, topic, packetId: 5, [], "{\"temperature\":22.5}"u8.ToArray()), Ct);
        AssertAck(0x50, 5, await raw.ReadPacketAsync(Ct));
        await raw.SendAsync(RawMqtt5.Publish(0x3C, topic, packetId: 5, [], "{\"temperature\":22.5}"u8.ToArray()), Ct); // DUP, same id
        AssertAck(0x50, 5, await raw.ReadPacketAsync(Ct));
        await raw.SendAsync(RawMqtt5.Packet(0x62, [0, 5]), Ct); // PUBREL
        var pubComp = await raw.ReadPacketAsync(Ct);
        AssertAck(0x70, 5, pubComp);
        Assert.True(pubComp.Body.Length == 2 || pubComp.Body[2] == 0, "PUBCOMP of a released packet is a success");

        Assert.Equal(1, ingest.MessagesAccepted - accepted);
        var after = await fixture.Service.RefusalTotalsAsync(Ct);
        Assert.Equal(1, after.GetValueOrDefault("qos2_duplicate") - before.GetValueOrDefault("qos2_duplicate"));

        // After PUBREL the identifier is free again: a new message with it is a new message.
        await raw.SendAsync(RawMqtt5.Publish(0x34, topic, packetId: 5, [], "{\"temperature\":22.5}"u8.ToArray()), Ct);
        AssertAck(0x50, 5, await raw.ReadPacketAsync(Ct));
        Assert.Equal(2, ingest.MessagesAccepted - accepted);
        await AssertOnlyTheGoodReadingStoredAsync(sensor);
    }

    [Fact]
    public async Task A_stray_PUBREL_is_answered_with_PUBCOMP_packet_identifier_not_found_and_the_connection_stays_usable()
    {
        var sensor = $"st-pubrel-{Guid.NewGuid():N}"[..20];
        var before = await fixture.Service.RefusalTotalsAsync(Ct);

        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, sensor, Ct);
        await raw.SendAsync(RawMqtt5.Packet(0x62, [0, 77]), Ct);
        var pubComp = await raw.ReadPacketAsync(Ct);
        AssertAck(0x70, 77, pubComp);
        Assert.True(pubComp.Body.Length > 2, "the PUBCOMP carries a reason code");
        Assert.Equal((byte)MqttPubCompReasonCode.PacketIdentifierNotFound, pubComp.Body[2]);
        var after = await fixture.Service.RefusalTotalsAsync(Ct);
        Assert.Equal(1, after.GetValueOrDefault("packet_id_not_found") - before.GetValueOrDefault("packet_id_not_found"));

        var good = await raw.PublishQos1Async(Encoding.UTF8.GetBytes($"campus/strict/r1/{sensor}/telemetry"), "{\"temperature\":22.5}"u8.ToArray(), packetId: 78, Ct);
        Assert.Equal((byte)MqttPubAckReasonCode.Success, good.ReasonCode);
        await AssertOnlyTheGoodReadingStoredAsync(sensor);
    }

    public static TheoryData<string, byte, byte[]> WrongFixedHeaderFlags() => new()
    {
        { "PUBACK", 0x41, [0, 1] },
        { "PUBREC", 0x58, [0, 1] },
        { "PUBREL", 0x60, [0, 1] }, // must be 0x62
        { "PUBCOMP", 0x7F, [0, 1] },
        { "SUBSCRIBE", 0x80, [0, 1, 0, 0, 1, (byte)'x', 0x01] }, // must be 0x82
        { "UNSUBSCRIBE", 0xA3, [0, 1, 0, 0, 1, (byte)'x'] }, // must be 0xA2
        { "PINGREQ", 0xC4, [] },
        { "DISCONNECT", 0xE1, [] },
    };

    [Theory]
    [MemberData(nameof(WrongFixedHeaderFlags))]
    public async Task A_packet_with_fixed_header_flags_the_specification_forbids_closes_the_connection_counted_as_malformed_packet(string name, byte header, byte[] body)
    {
        var before = await ConnectionsRefusedAsync(ConnectionRefusals.MalformedPacket);
        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, $"st-flags-{name}", Ct);
        await raw.SendAsync(RawMqtt5.Packet(header, body), Ct);
        try
        {
            await raw.SendAsync(RawMqtt5.Packet(0xC0, []), Ct); // a PINGREQ that a live connection would answer
        }
        catch (IOException)
        {
            // The broker closed the connection before the PINGREQ could be written: the outcome under test.
        }

        var (closed, received) = await raw.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.True(closed, $"the connection stayed open after {name} with header 0x{header:X2}");
        Assert.DoesNotContain((byte)0xD0, received); // no PINGRESP: nothing after the malformed packet was read
        await Poll.UntilAsync("the malformed packet to be counted", () => ConnectionsRefusedAsync(ConnectionRefusals.MalformedPacket), n => n >= before + 1, cancellationToken: Ct);
    }

    [Fact]
    public async Task A_second_CONNECT_closes_the_connection_counted_as_a_protocol_error()
    {
        var before = await ConnectionsRefusedAsync(ConnectionRefusals.ProtocolError);
        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, "st-second-connect", Ct);
        await raw.SendAsync(RawMqtt5.Connect(5, 0x02, 60, "st-second-connect"), Ct);

        Assert.True(await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(30), Ct), "the connection stayed open after a second CONNECT");
        await Poll.UntilAsync("the second CONNECT to be counted", () => ConnectionsRefusedAsync(ConnectionRefusals.ProtocolError), n => n >= before + 1, cancellationToken: Ct);
    }

    public static TheoryData<string, byte[]> MalformedSubscriptions() => new()
    {
        { "subscribe-without-filter", RawMqtt5.Packet(0x82, [0, 1, 0]) },
        { "subscribe-qos-3", RawMqtt5.Packet(0x82, [0, 1, 0, 0, 1, (byte)'x', 0x03]) },
        { "subscribe-reserved-bits", RawMqtt5.Packet(0x82, [0, 1, 0, 0, 1, (byte)'x', 0x81]) },
        { "subscribe-retain-handling-3", RawMqtt5.Packet(0x82, [0, 1, 0, 0, 1, (byte)'x', 0x30]) },
        { "unsubscribe-without-filter", RawMqtt5.Packet(0xA2, [0, 1, 0]) },
    };

    [Theory]
    [MemberData(nameof(MalformedSubscriptions))]
    public async Task A_SUBSCRIBE_or_UNSUBSCRIBE_without_filters_or_with_invalid_options_closes_the_connection_without_a_SUBACK(string name, byte[] packet)
    {
        var before = await ConnectionsRefusedAsync(ConnectionRefusals.MalformedPacket);
        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, $"st-{name}"[..Math.Min(23, 3 + name.Length)], Ct);
        await raw.SendAsync(packet, Ct);

        var (closed, received) = await raw.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.True(closed, $"the connection stayed open after {name}");
        Assert.Empty(received); // neither SUBACK nor UNSUBACK
        await Poll.UntilAsync("the malformed packet to be counted", () => ConnectionsRefusedAsync(ConnectionRefusals.MalformedPacket), n => n >= before + 1, cancellationToken: Ct);
    }

    [Fact]
    public async Task A_well_formed_SUBSCRIBE_with_every_option_the_specification_allows_is_answered()
    {
        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, "st-subscribe-ok", Ct);
        // QoS 2, No Local, Retain As Published, retain handling 2: 0x2E.
        await raw.SendAsync(RawMqtt5.Packet(0x82, [0, 9, 0, 0, 1, (byte)'x', 0x2E]), Ct);
        var (type, body) = await raw.ReadPacketAsync(Ct);
        Assert.Equal(0x90, type);
        Assert.Equal(9, (body[0] << 8) | body[1]);
    }

    public static TheoryData<string, byte[], ushort> AliasWithoutTopic() => new()
    {
        { "never-set", [], 3 },
        { "no-alias", [], 0 },
    };

    [Theory]
    [MemberData(nameof(AliasWithoutTopic))]
    public async Task A_PUBLISH_without_a_topic_and_without_a_set_alias_closes_the_connection_counted_as_topic_alias_invalid(string name, byte[] topic, ushort alias)
    {
        var before = await fixture.Service.RefusalTotalsAsync(Ct);
        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, $"st-alias-{name}", Ct);
        await raw.SendAsync(RawMqtt5.Publish(0x32, topic, packetId: 1, alias == 0 ? [] : RawMqtt5.AliasProperty(alias), "{\"temperature\":99}"u8.ToArray()), Ct);

        var (closed, received) = await raw.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.True(closed, $"the connection stayed open after a PUBLISH without a topic ({name})");
        Assert.DoesNotContain((byte)0x40, received.Take(1)); // no PUBACK
        var after = await Poll.UntilAsync("the alias refusal to be counted", () => fixture.Service.RefusalTotalsAsync(Ct),
            totals => totals.GetValueOrDefault("topic_alias_invalid") > before.GetValueOrDefault("topic_alias_invalid"), cancellationToken: Ct);
        Assert.Equal(1, after.GetValueOrDefault("topic_alias_invalid") - before.GetValueOrDefault("topic_alias_invalid"));
    }

    [Fact]
    public async Task A_PUBLISH_with_topic_alias_0_closes_the_connection_counted_as_a_protocol_error_and_is_not_stored()
    {
        var sensor = $"st-alias0-{Guid.NewGuid():N}"[..20];
        var ingest = fixture.Service.Services.GetRequiredService<IngestHandler>();
        var accepted = ingest.MessagesAccepted;
        var before = await ConnectionsRefusedAsync(ConnectionRefusals.ProtocolError);
        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, sensor, Ct);
        await raw.SendAsync(RawMqtt5.Publish(0x32, Encoding.UTF8.GetBytes($"campus/strict/r1/{sensor}/telemetry"), packetId: 1,
            [0x01, 0x01, .. RawMqtt5.AliasProperty(0)], "{\"temperature\":99}"u8.ToArray()), Ct); // after a payload format indicator

        var (closed, received) = await raw.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.True(closed, "the connection stayed open after topic alias 0");
        Assert.Empty(received); // no PUBACK
        await Poll.UntilAsync("topic alias 0 to be counted", () => ConnectionsRefusedAsync(ConnectionRefusals.ProtocolError), n => n >= before + 1, cancellationToken: Ct);
        Assert.Equal(accepted, ingest.MessagesAccepted);
    }

    public static TheoryData<string, byte, byte[], byte[]?> InvalidUtf8Connects() => new()
    {
        { "client-id-mqtt5", 5, [.. "st-utf8-"u8, 0xFF], null },
        { "client-id-mqtt311", 4, [.. "st-utf8-"u8, 0xC0, 0xAF], null },
        { "surrogate-client-id", 5, [.. "st-utf8-"u8, 0xED, 0xA0, 0x80], null },
        { "user-name", 5, "st-utf8-user"u8.ToArray(), [.. "user"u8, 0xFE] },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8Connects))]
    public async Task A_CONNECT_whose_client_id_or_user_name_is_not_UTF8_is_closed_as_malformed_and_not_judged_as_credentials(string name, byte level, byte[] clientId, byte[]? userName)
    {
        var before = await ConnectionsRefusedAsync(ConnectionRefusals.MalformedConnect);
        using var raw = await RawMqtt5.OpenAsync(fixture.Service.MqttPort, Ct);
        byte[] properties = level == 5 ? [0] : [];
        byte flags = userName is null ? (byte)0x02 : (byte)0xC2;
        byte[] credentials = userName is null ? [] : [.. RawMqtt5.Str(userName), .. RawMqtt5.Str("x"u8.ToArray())];
        await raw.SendAsync(RawMqtt5.Packet(0x10, [0, 4, .. "MQTT"u8, level, flags, 0, 60, .. properties, .. RawMqtt5.Str(clientId), .. credentials]), Ct);

        var (closed, received) = await raw.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.True(closed, $"the connection stayed open after a CONNECT with invalid UTF-8 ({name})");
        Assert.Empty(received); // no CONNACK: the CONNECT never reached authentication
        await Poll.UntilAsync("the malformed CONNECT to be counted", () => ConnectionsRefusedAsync(ConnectionRefusals.MalformedConnect), n => n >= before + 1, cancellationToken: Ct);
    }

    static void AssertAck(int type, ushort packetId, (byte Type, byte[] Body) packet)
    {
        Assert.Equal(type, packet.Type & 0xF0);
        Assert.Equal(packetId, (packet.Body[0] << 8) | packet.Body[1]);
    }

    // This service's own count: the metrics endpoint reads meters by name, and other services in this test process share it.
    Task<long> ConnectionsRefusedAsync(string reason) =>
        Task.FromResult(fixture.Service.Services.GetRequiredService<ConnectionRefusals>().Count(reason));

    async Task AssertOnlyTheGoodReadingStoredAsync(string sensor)
    {
        var stored = await Poll.UntilAsync(
            $"the good reading of {sensor} in InfluxDB",
            () => fixture.Influx.QueryAsync(ServiceOnInfluxV1Fixture.Database, $"SELECT temperature FROM telemetry WHERE sensor = '{sensor}'", Ct),
            found => found.Count > 0, cancellationToken: Ct);
        var values = stored.SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => s.Get(i, "temperature").GetDouble())).ToList();
        Assert.All(values, v => Assert.Equal(22.5, v));
    }
}

/// <summary>
/// Just enough of MQTT 5 on a raw socket to send what client libraries refuse to send (wildcard topics, invalid
/// UTF-8, QoS 3, out-of-range topic aliases). Hand-written because sending malformed packets is the point.
/// </summary>
internal sealed class RawMqtt5 : IDisposable
{
    readonly TcpClient tcp;
    readonly NetworkStream stream;

    RawMqtt5(TcpClient tcp)
    {
        this.tcp = tcp;
        stream = tcp.GetStream();
    }

    public int TopicAliasMaximum { get; private set; }

    /// <summary>The Receive Maximum of the CONNACK (MQTT 5), 0 when it had none (65,535 by the specification).</summary>
    public int ReceiveMaximum { get; private set; }

    /// <summary>The Server Keep Alive of the CONNACK (MQTT 5), 0 when it had none.</summary>
    public int ServerKeepAlive { get; private set; }

    /// <summary>Bytes the server sent that were not read yet.</summary>
    public int Available => tcp.Available;

    /// <summary>A TCP connection that has sent nothing yet.</summary>
    public static async Task<RawMqtt5> OpenAsync(int port, CancellationToken ct)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port, ct);
        return new RawMqtt5(tcp);
    }

    /// <summary>A CONNECT packet: protocol level 5 (MQTT 5, with empty properties) or 4 (3.1.1), flags as given, then the payload fields.</summary>
    public static byte[] Connect(byte level, byte flags, ushort keepAlive, string clientId, params byte[][] moreFields)
    {
        byte[] properties = level == 5 ? [0] : [];
        byte[] payload = [.. Str(Encoding.UTF8.GetBytes(clientId)), .. moreFields.SelectMany(Str)];
        return Packet(0x10, [0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', level, flags, (byte)(keepAlive >> 8), (byte)keepAlive, .. properties, .. payload]);
    }

    public static async Task<RawMqtt5> ConnectAsync(int port, string clientId, CancellationToken ct, ushort keepAlive = 60, byte level = 5)
    {
        var raw = await OpenAsync(port, ct);
        await raw.SendAsync(Connect(level, 0x02, keepAlive, clientId), ct);
        var (type, connAck) = await raw.ReadPacketAsync(ct);
        Assert.Equal(0x20, type & 0xF0);
        Assert.Equal(0, connAck[1]);
        if (level != 5)
        {
            return raw;
        }

        // CONNACK properties: a variable byte integer length, then id/value pairs; 0x22 is Topic Alias Maximum.
        var (propsLength, at) = ReadVarInt(connAck, 2);
        var end = at + propsLength;
        while (at < end)
        {
            var id2 = connAck[at++];
            switch (id2)
            {
                case 0x22: raw.TopicAliasMaximum = (connAck[at] << 8) | connAck[at + 1]; at += 2; break;
                case 0x13: raw.ServerKeepAlive = (connAck[at] << 8) | connAck[at + 1]; at += 2; break;
                case 0x21: raw.ReceiveMaximum = (connAck[at] << 8) | connAck[at + 1]; at += 2; break;
                case 0x11 or 0x27: at += 4; break; // session expiry, maximum packet size
                case 0x24 or 0x25 or 0x28 or 0x29 or 0x2A: at += 1; break;
                case 0x12 or 0x1A or 0x1C or 0x1F or 0x15: at += 2 + ((connAck[at] << 8) | connAck[at + 1]); break;
                case 0x16: at += 2 + ((connAck[at] << 8) | connAck[at + 1]); break;
                case 0x26:
                    at += 2 + ((connAck[at] << 8) | connAck[at + 1]);
                    at += 2 + ((connAck[at] << 8) | connAck[at + 1]);
                    break;
                default: throw new InvalidOperationException($"unexpected CONNACK property 0x{id2:X2}");
            }
        }

        return raw;
    }

    public static byte[] AliasProperty(ushort alias) => [0x23, (byte)(alias >> 8), (byte)alias];

    public static byte[] Publish(byte header, byte[] topic, ushort packetId, byte[] properties, byte[] payload)
    {
        byte[] id = (header & 0x06) != 0 ? [(byte)(packetId >> 8), (byte)packetId] : [];
        return Packet(header, [.. Str(topic), .. id, .. VarInt(properties.Length), .. properties, .. payload]);
    }

    /// <summary>Sends a QoS 1 PUBLISH and returns its PUBACK's reason code and reason string.</summary>
    public async Task<(byte ReasonCode, string ReasonString)> PublishQos1Async(byte[] topic, byte[] payload, ushort packetId, CancellationToken ct, ushort alias = 0)
    {
        await SendAsync(Publish(0x32, topic, packetId, alias == 0 ? [] : AliasProperty(alias), payload), ct);
        var (type, body) = await ReadPacketAsync(ct);
        Assert.Equal(0x40, type & 0xF0);
        Assert.Equal(packetId, (body[0] << 8) | body[1]);
        if (body.Length == 2)
        {
            return (0, "");
        }

        var reasonString = "";
        if (body.Length > 3)
        {
            var (propsLength, at) = ReadVarInt(body, 3);
            var end = at + propsLength;
            while (at < end)
            {
                var id = body[at++];
                var length = (body[at] << 8) | body[at + 1];
                if (id == 0x1F)
                {
                    reasonString = Encoding.UTF8.GetString(body, at + 2, length);
                }

                at += id == 0x26 ? 2 + length + 2 + ((body[at + 2 + length] << 8) | body[at + 3 + length]) : 2 + length;
            }
        }

        return (body[2], reasonString);
    }

    public Task SendAsync(byte[] packet, CancellationToken ct) => stream.WriteAsync(packet, ct).AsTask();

    /// <summary>Reads (and drops) whatever the server still sends until it closes the connection; false at the deadline.</summary>
    public async Task<bool> ReadUntilClosedAsync(TimeSpan within, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(within);
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer, deadline.Token) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true; // reset by the server
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Everything the server sends until it closes the connection; Closed is false at the deadline.</summary>
    public async Task<(bool Closed, byte[] Received)> ReceiveUntilClosedAsync(TimeSpan within, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(within);
        var received = new List<byte>();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, deadline.Token)) > 0)
            {
                received.AddRange(buffer.AsSpan(0, read));
            }

            return (true, [.. received]);
        }
        catch (IOException)
        {
            return (true, [.. received]); // reset by the server
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (false, [.. received]);
        }
    }

    public async Task<(byte Type, byte[] Body)> ReadPacketAsync(CancellationToken ct)
    {
        var header = await ReadByteAsync(ct);
        int length = 0, shift = 0;
        byte b;
        do
        {
            b = await ReadByteAsync(ct);
            length |= (b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);

        var body = new byte[length];
        await stream.ReadExactlyAsync(body, ct);
        return (header, body);
    }

    async Task<byte> ReadByteAsync(CancellationToken ct)
    {
        var one = new byte[1];
        await stream.ReadExactlyAsync(one, ct);
        return one[0];
    }

    public static byte[] Packet(byte header, byte[] body) => [header, .. VarInt(body.Length), .. body];

    public static byte[] Str(byte[] bytes) => [(byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes];

    static byte[] VarInt(int value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value % 128);
            value /= 128;
            bytes.Add(value > 0 ? (byte)(b | 0x80) : b);
        }
        while (value > 0);

        return [.. bytes];
    }

    static (int Value, int Next) ReadVarInt(byte[] data, int at)
    {
        int value = 0, shift = 0;
        byte b;
        do
        {
            b = data[at++];
            value |= (b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);

        return (value, at);
    }

    public void Dispose()
    {
        stream.Dispose();
        tcp.Dispose();
    }
}
