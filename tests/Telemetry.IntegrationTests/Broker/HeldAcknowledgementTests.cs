using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.IntegrationTests.Hostile;
using Telemetry.Storage;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>
/// The service (in this process, real sockets) writing to its own InfluxDB 1.6, with <c>Broker:ReceiveMaximum</c> 8 and
/// a <see cref="HeldSpoolWriter"/> over its spool, so that tests decide when a sensor's messages become durable.
/// </summary>
public sealed class HeldAcknowledgementRig : IAsyncLifetime
{
    public const int ReceiveMaximum = 8;

    InfluxDbServer? influx;
    TelemetryServiceHost? service;

    public InfluxDbServer Influx => influx ?? throw new InvalidOperationException("not started");

    public TelemetryServiceHost Service => service ?? throw new InvalidOperationException("not started");

    public HeldSpoolWriter Writer => Service.Services.GetRequiredService<HeldSpoolWriter>();

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        influx = await InfluxDbServer.StartAsync(ct);
        await influx.CreateDatabaseAsync("campus", ct);
        service = await TelemetryServiceHost.StartAsync(
            ["--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus", $"--Broker:ReceiveMaximum={ReceiveMaximum}"],
            ct,
            overrides: services =>
            {
                services.AddSingleton<HeldSpoolWriter>();
                services.AddSingleton<ITelemetryWriter>(sp => sp.GetRequiredService<HeldSpoolWriter>());
            });
    }

    /// <summary>The timestamps of <paramref name="sensor"/>'s raw readings in InfluxDB, as often as each is stored.</summary>
    public async Task<List<long>> StoredAsync(string sensor, CancellationToken ct)
    {
        var series = await Influx.QueryAsync("campus", $"SELECT temperature FROM telemetry WHERE sensor = '{sensor}'", ct);
        return [.. series.SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => s.Get(i, "time").GetInt64()))];
    }

    public async ValueTask DisposeAsync()
    {
        if (service is not null)
        {
            await service.DisposeAsync();
        }

        if (influx is not null)
        {
            await influx.DisposeAsync();
        }
    }
}

/// <summary>
/// A QoS 1/2 acknowledgement means "durable in the spool": the broker appends a connection's messages while their
/// fsyncs are pending (reading ahead up to <c>Broker:ReceiveMaximum</c>), holds each PUBACK/PUBREC until its message is
/// durable, and sends them in the order of the publishes — refusals included.
/// </summary>
public sealed class HeldAcknowledgementTests(HeldAcknowledgementRig rig) : IClassFixture<HeldAcknowledgementRig>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    /// <summary>Long enough for an acknowledgement that was not held to arrive on loopback.</summary>
    static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    static string NewSensor(string what) => $"ha-{what}-{Guid.NewGuid():N}"[..24];

    static byte[] Topic(string sensor) => Encoding.UTF8.GetBytes($"campus/held/r1/{sensor}/telemetry");

    static byte[] Reading(long ts) => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"ts\":{ts},\"temperature\":{ts % 1000 + 0.5}}}"));

    static long FirstTs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;

    [Fact]
    public async Task Eight_QoS_1_publishes_in_flight_are_appended_together_acknowledged_in_order_once_durable_and_stored_once()
    {
        var sensor = NewSensor("eight");
        var ts = FirstTs();
        rig.Writer.Hold(sensor);
        using var raw = await RawMqtt5.ConnectAsync(rig.Service.MqttPort, sensor, Ct);
        Assert.Equal(HeldAcknowledgementRig.ReceiveMaximum, raw.ReceiveMaximum);

        await raw.SendAsync([.. Enumerable.Range(1, 8).SelectMany(i => RawMqtt5.Publish(0x32, Topic(sensor), (ushort)i, [], Reading(ts + i)))], Ct);

        // All eight are in the spool while none is durable: the broker read ahead instead of waiting for each fsync.
        await Poll.UntilAsync("the eight messages to be appended", () => Task.FromResult(rig.Writer.Enqueued(sensor)), n => n == 8, Within, cancellationToken: Ct);
        await Poll.ThroughoutAsync("no PUBACK before the messages are durable", () => Task.FromResult(raw.Available), n => n == 0, Quiet, cancellationToken: Ct);

        rig.Writer.Release(sensor);
        for (var i = 1; i <= 8; i++)
        {
            var (type, body) = await raw.ReadPacketAsync(Ct);
            Assert.Equal(0x40, type);
            Assert.Equal(i, (body[0] << 8) | body[1]);
            Assert.Equal(0, body.Length == 2 ? 0 : body[2]); // success
        }

        var stored = await Poll.UntilAsync("the eight readings in InfluxDB", () => rig.StoredAsync(sensor, Ct), s => s.Count >= 8, Within, cancellationToken: Ct);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => ts + i), stored.Order());
    }

    [Fact]
    public async Task A_refused_message_between_accepted_ones_gets_its_error_PUBACK_in_order()
    {
        var sensor = NewSensor("refused");
        var ts = FirstTs();
        rig.Writer.Hold(sensor);
        using var raw = await RawMqtt5.ConnectAsync(rig.Service.MqttPort, sensor, Ct);

        await raw.SendAsync(
            [
                .. RawMqtt5.Publish(0x32, Topic(sensor), 1, [], Reading(ts + 1)),
                .. RawMqtt5.Publish(0x32, Topic(sensor), 2, [], "not json"u8.ToArray()),
                .. RawMqtt5.Publish(0x32, Topic(sensor), 3, [], Reading(ts + 3)),
            ], Ct);
        await Poll.UntilAsync("the two good messages to be appended", () => Task.FromResult(rig.Writer.Enqueued(sensor)), n => n == 2, Within, cancellationToken: Ct);

        // The refusal was decided long ago, but its PUBACK does not overtake the one before it.
        await Poll.ThroughoutAsync("no PUBACK before the first message is durable", () => Task.FromResult(raw.Available), n => n == 0, Quiet, cancellationToken: Ct);
        rig.Writer.Release(sensor);

        byte[] expected = [0x00, 0x99, 0x00]; // success, payload format invalid, success
        for (var i = 1; i <= 3; i++)
        {
            var (type, body) = await raw.ReadPacketAsync(Ct);
            Assert.Equal(0x40, type);
            Assert.Equal(i, (body[0] << 8) | body[1]);
            Assert.Equal(expected[i - 1], body.Length == 2 ? (byte)0 : body[2]);
        }

        var stored = await Poll.UntilAsync("the two good readings in InfluxDB", () => rig.StoredAsync(sensor, Ct), s => s.Count >= 2, Within, cancellationToken: Ct);
        Assert.Equal([ts + 1, ts + 3], stored.Order());
    }

    [Fact]
    public async Task An_MQTT_3_1_1_connection_with_many_publishes_in_flight_has_at_most_ReceiveMaximum_appends_pending()
    {
        const int Sent = 20;
        var sensor = NewSensor("v311");
        var ts = FirstTs();
        rig.Writer.Hold(sensor);
        using var raw = await RawMqtt5.ConnectAsync(rig.Service.MqttPort, sensor, Ct, level: MqttBytes.V311);

        await raw.SendAsync([.. Enumerable.Range(1, Sent).SelectMany(i => MqttBytes.Publish(0x32, Topic(sensor), (ushort)i, Reading(ts + i), v5: false))], Ct);

        await Poll.UntilAsync("ReceiveMaximum messages to be appended", () => Task.FromResult(rig.Writer.Enqueued(sensor)),
            n => n >= HeldAcknowledgementRig.ReceiveMaximum, Within, cancellationToken: Ct);
        await Poll.ThroughoutAsync("no more appends and no PUBACK while ReceiveMaximum are pending",
            () => Task.FromResult((Enqueued: rig.Writer.Enqueued(sensor), raw.Available)),
            s => s.Enqueued == HeldAcknowledgementRig.ReceiveMaximum && s.Available == 0, Quiet, cancellationToken: Ct);

        rig.Writer.Release(sensor);
        for (var i = 1; i <= Sent; i++)
        {
            var (type, body) = await raw.ReadPacketAsync(Ct);
            Assert.Equal(0x40, type);
            Assert.Equal(i, (body[0] << 8) | body[1]);
        }

        var stored = await Poll.UntilAsync("every reading in InfluxDB", () => rig.StoredAsync(sensor, Ct), s => s.Count >= Sent, Within, cancellationToken: Ct);
        Assert.Equal(Enumerable.Range(1, Sent).Select(i => ts + i), stored.Order());
    }

    [Fact]
    public async Task A_QoS_2_PUBREC_waits_for_durability_and_a_resend_before_it_is_neither_stored_nor_answered_twice()
    {
        var sensor = NewSensor("qos2");
        var ts = FirstTs();
        rig.Writer.Hold(sensor);
        using var raw = await RawMqtt5.ConnectAsync(rig.Service.MqttPort, sensor, Ct);
        var before = await rig.Service.RefusalTotalsAsync(Ct);

        await raw.SendAsync(RawMqtt5.Publish(0x34, Topic(sensor), 5, [], Reading(ts)), Ct);
        await Poll.UntilAsync("the message to be appended", () => Task.FromResult(rig.Writer.Enqueued(sensor)), n => n == 1, Within, cancellationToken: Ct);
        await raw.SendAsync(RawMqtt5.Publish(0x3C, Topic(sensor), 5, [], Reading(ts)), Ct); // the same, DUP set
        await Poll.UntilAsync("the resend to be recognised", () => rig.Service.RefusalTotalsAsync(Ct),
            t => t.GetValueOrDefault("qos2_duplicate") > before.GetValueOrDefault("qos2_duplicate"), Within, cancellationToken: Ct);
        Assert.Equal(0, raw.Available);

        rig.Writer.Release(sensor);
        var (type, body) = await raw.ReadPacketAsync(Ct);
        Assert.Equal(0x50, type);
        Assert.Equal(5, (body[0] << 8) | body[1]);
        await raw.SendAsync(MqttBytes.Ack(0x62, 5), Ct);
        (type, body) = await raw.ReadPacketAsync(Ct);
        Assert.Equal(0x70, type);
        Assert.Equal(0, body.Length == 2 ? 0 : body[2]); // success

        // No second PUBREC is queued behind: the next packet is the answer to a PINGREQ.
        await raw.SendAsync(MqttBytes.PingReq, Ct);
        (type, _) = await raw.ReadPacketAsync(Ct);
        Assert.Equal(0xD0, type);
        Assert.Equal(1, rig.Writer.Enqueued(sensor));
        var stored = await Poll.UntilAsync("the reading in InfluxDB", () => rig.StoredAsync(sensor, Ct), s => s.Count >= 1, Within, cancellationToken: Ct);
        Assert.Equal([ts], stored);
    }

    [Fact]
    public async Task A_QoS_0_message_is_durable_before_the_connection_s_next_packet_is_read()
    {
        var sensor = NewSensor("qos0");
        var ts = FirstTs();
        rig.Writer.Hold(sensor);
        using var raw = await RawMqtt5.ConnectAsync(rig.Service.MqttPort, sensor, Ct);

        await raw.SendAsync([.. RawMqtt5.Publish(0x30, Topic(sensor), 0, [], Reading(ts + 1)), .. RawMqtt5.Publish(0x32, Topic(sensor), 1, [], Reading(ts + 2))], Ct);
        await Poll.UntilAsync("the QoS 0 message to be appended", () => Task.FromResult(rig.Writer.Enqueued(sensor)), n => n >= 1, Within, cancellationToken: Ct);
        await Poll.ThroughoutAsync("the QoS 1 message to wait until the QoS 0 one is durable", () => Task.FromResult(rig.Writer.Enqueued(sensor)), n => n == 1, Quiet, cancellationToken: Ct);

        rig.Writer.Release(sensor);
        var (type, body) = await raw.ReadPacketAsync(Ct);
        Assert.Equal(0x40, type);
        Assert.Equal(1, (body[0] << 8) | body[1]);
        var stored = await Poll.UntilAsync("both readings in InfluxDB", () => rig.StoredAsync(sensor, Ct), s => s.Count >= 2, Within, cancellationToken: Ct);
        Assert.Equal([ts + 1, ts + 2], stored.Order());
    }

    [Fact]
    public async Task After_a_session_takeover_the_new_connection_holds_its_own_acknowledgements_and_reads_ahead()
    {
        var sensor = NewSensor("takeover");
        var ts = FirstTs();
        rig.Writer.Hold(sensor);
        using var first = await ConnectWithoutCleanStartAsync(sensor);
        await first.SendAsync(RawMqtt5.Publish(0x32, Topic(sensor), 1, [], Reading(ts + 1)), Ct);
        await Poll.UntilAsync("the first connection's message to be appended", () => Task.FromResult(rig.Writer.Enqueued(sensor)), n => n == 1, Within, cancellationToken: Ct);

        // The same client id again without clean start: MQTTnet takes the live session over, session items included.
        using var second = await ConnectWithoutCleanStartAsync(sensor);
        Assert.True(await first.ReadUntilClosedAsync(Within, Ct), "the taken-over connection stayed open");
        await second.SendAsync([.. RawMqtt5.Publish(0x32, Topic(sensor), 1, [], Reading(ts + 1)), .. RawMqtt5.Publish(0x32, Topic(sensor), 2, [], Reading(ts + 2))], Ct);
        await Poll.UntilAsync("both messages of the new connection to be appended while none is durable", () => Task.FromResult(rig.Writer.Enqueued(sensor)), n => n == 3, Within, cancellationToken: Ct);
        Assert.Equal(0, second.Available);

        rig.Writer.Release(sensor);
        for (var i = 1; i <= 2; i++)
        {
            var (type, body) = await second.ReadPacketAsync(Ct);
            Assert.Equal(0x40, type);
            Assert.Equal(i, (body[0] << 8) | body[1]);
        }

        // The first connection's message and its resend are the same point.
        var stored = await Poll.UntilAsync("both readings in InfluxDB", () => rig.StoredAsync(sensor, Ct), s => s.Count >= 2, Within, cancellationToken: Ct);
        Assert.Equal([ts + 1, ts + 2], stored.Order());
    }

    async Task<RawMqtt5> ConnectWithoutCleanStartAsync(string clientId)
    {
        var raw = await RawMqtt5.OpenAsync(rig.Service.MqttPort, Ct);
        await raw.SendAsync(RawMqtt5.Connect(5, 0x00, 60, clientId), Ct);
        var (type, connAck) = await raw.ReadPacketAsync(Ct);
        Assert.Equal(0x20, type);
        Assert.Equal(0, connAck[1]);
        return raw;
    }
}
