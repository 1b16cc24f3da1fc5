using System.Text;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.Faults;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// What one connection can make the broker hold is bounded at the wire: the client id's length (CONNECT), a PUBLISH
/// topic's length (kept for a topic alias) and the QoS 2 messages awaiting PUBREL (Receive Maximum). Each bound is
/// refused with the specification's reason code, counted with its reason, and leaves a well-behaved connection alone.
/// </summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class BoundedResourceTests(ServiceOnInfluxV1Fixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_client_id_longer_than_256_bytes_is_refused_as_client_identifier_not_valid()
    {
        // Counted through a listener on this process's meters: several services run in this test process, and the
        // Prometheus page of one may not show another's instrument of the same name.
        long counted = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "telemetry.mqtt.connections.refused")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "reason", Value: "client_id_invalid" })
                {
                    Interlocked.Add(ref counted, value);
                }
            }
        });
        listener.Start();

        using var raw = await RawMqtt5.OpenAsync(fixture.Service.MqttPort, Ct);
        await raw.SendAsync(RawMqtt5.Connect(5, 0x02, 60, new string('x', 257)), Ct);
        var (type, connAck) = await raw.ReadPacketAsync(Ct);
        Assert.Equal(0x20, type & 0xF0);
        Assert.Equal((byte)MqttConnectReasonCode.ClientIdentifierNotValid, connAck[1]);
        Assert.True(await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(15), Ct), "the connection stayed open after CONNACK 0x85");
        await Poll.UntilAsync("the refused client id to be counted as client_id_invalid",
            () => Task.FromResult(Interlocked.Read(ref counted)), n => n >= 1, cancellationToken: Ct);

        // 256 bytes exactly are fine (3.1.1 too).
        using var longest = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, new string('y', 256), Ct);
        using var longest311 = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, new string('z', 256), Ct, level: 4);
    }

    [Fact]
    public async Task A_topic_longer_than_the_maximum_closes_the_connection_before_its_alias_is_kept()
    {
        var sensor = $"br-topic-{Guid.NewGuid():N}"[..20];
        var before = await fixture.Service.RefusalTotalsAsync(Ct);
        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, sensor, Ct);

        // 1,024 bytes (the default maximum) is only refused as a topic, the connection stays.
        var atLimit = Encoding.UTF8.GetBytes("campus/" + new string('a', 1024 - 7));
        Assert.Equal((byte)MqttPubAckReasonCode.TopicNameInvalid, (await raw.PublishQos1Async(atLimit, "{\"temperature\":1}"u8.ToArray(), 1, Ct)).ReasonCode);

        var tooLong = Encoding.UTF8.GetBytes("campus/" + new string('a', 60_000));
        await raw.SendAsync(RawMqtt5.Publish(0x32, tooLong, packetId: 2, RawMqtt5.AliasProperty(1), "{\"temperature\":1}"u8.ToArray()), Ct);
        Assert.True(await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(15), Ct), "the connection stayed open after a 60 kB topic");
        var after = await Poll.UntilAsync("the long topic to be counted", () => fixture.Service.RefusalTotalsAsync(Ct),
            totals => totals.GetValueOrDefault("topic_too_long") > before.GetValueOrDefault("topic_too_long"), cancellationToken: Ct);
        Assert.Equal(1, after.GetValueOrDefault("topic_too_long") - before.GetValueOrDefault("topic_too_long"));
    }

    [Theory]
    [InlineData((byte)5)]
    [InlineData((byte)4)]
    public async Task QoS_2_messages_beyond_the_receive_maximum_close_the_connection(byte level)
    {
        var sensor = $"br-rm{level}-{Guid.NewGuid():N}"[..20];
        var topic = Encoding.UTF8.GetBytes($"campus/strict/r1/{sensor}/telemetry");
        var before = await fixture.Service.RefusalTotalsAsync(Ct);
        using var raw = await RawMqtt5.ConnectAsync(fixture.Service.MqttPort, sensor, Ct, level: level);
        const int ReceiveMaximum = 100; // Broker:ReceiveMaximum's default
        if (level == 5)
        {
            Assert.Equal(ReceiveMaximum, raw.ReceiveMaximum);
        }

        // 100 QoS 2 messages without PUBREL are within the bound: each gets its PUBREC.
        for (ushort id = 1; id <= ReceiveMaximum; id++)
        {
            await raw.SendAsync(level == 5
                ? RawMqtt5.Publish(0x34, topic, id, [], "{\"temperature\":22.5}"u8.ToArray())
                : RawMqtt5.Packet(0x34, [.. Str(topic), (byte)(id >> 8), (byte)id, .. "{\"temperature\":22.5}"u8.ToArray()]), Ct);
            var (type, body) = await raw.ReadPacketAsync(Ct);
            Assert.Equal(0x50, type & 0xF0);
            Assert.Equal(id, (body[0] << 8) | body[1]);
        }

        // Releasing one frees its place; the next new one fits, and the one after is one too many.
        await raw.SendAsync(RawMqtt5.Packet(0x62, [0, 1]), Ct);
        Assert.Equal(0x70, (await raw.ReadPacketAsync(Ct)).Type & 0xF0);
        for (ushort id = 101; id <= 102; id++)
        {
            await raw.SendAsync(level == 5
                ? RawMqtt5.Publish(0x34, topic, id, [], "{\"temperature\":22.5}"u8.ToArray())
                : RawMqtt5.Packet(0x34, [.. Str(topic), (byte)(id >> 8), (byte)id, .. "{\"temperature\":22.5}"u8.ToArray()]), Ct);
        }

        Assert.Equal(0x50, (await raw.ReadPacketAsync(Ct)).Type & 0xF0);
        if (level == 5)
        {
            var (type, body) = await raw.ReadPacketAsync(Ct);
            Assert.Equal(0xE0, type & 0xF0);
            Assert.Equal((byte)MqttDisconnectReasonCode.ReceiveMaximumExceeded, body[0]);
        }

        Assert.True(await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(15), Ct), "the connection stayed open beyond the receive maximum");
        var after = await Poll.UntilAsync("the receive maximum refusal to be counted", () => fixture.Service.RefusalTotalsAsync(Ct),
            totals => totals.GetValueOrDefault("receive_maximum_exceeded") > before.GetValueOrDefault("receive_maximum_exceeded"), cancellationToken: Ct);
        Assert.Equal(1, after.GetValueOrDefault("receive_maximum_exceeded") - before.GetValueOrDefault("receive_maximum_exceeded"));
    }

    static byte[] Str(byte[] bytes) => [(byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes];
}
