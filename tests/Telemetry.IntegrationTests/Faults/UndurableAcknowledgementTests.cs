using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.EndToEnd;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>
/// A connection with several QoS 1 messages in flight whose messages cannot be made durable gets no PUBACK at all —
/// not for the failed message, not for any later one — and is closed; the device's resend, once the spool can take it,
/// is acknowledged in order and every reading is stored once. Faults injected through the real file system and a real
/// InfluxDB outage, as in <see cref="WritePathFaultTests"/> and <see cref="SpoolFullTests"/>.
/// </summary>
public sealed class UndurableAcknowledgementTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    const int InFlight = 8;

    [Fact]
    public async Task Messages_in_flight_that_the_disk_refuses_get_no_PUBACK_the_connection_closes_and_the_resend_is_acknowledged()
    {
        const int SegmentBytes = 4096;
        await using var rig = await FaultRig.StartAsync([$"--Spool:SegmentBytes={SegmentBytes}"], Ct);
        var sensor = $"undurable-disk-{Guid.NewGuid():N}"[..24];
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;

        // The next segment files are directories, so the spool cannot start one; then the active one is filled, so the
        // next write needs a new segment and fails.
        var newest = Directory.EnumerateFiles(rig.Service.SpoolPath, "*.seg")
            .Select(p => long.Parse(Path.GetFileNameWithoutExtension(p), CultureInfo.InvariantCulture)).Max();
        var blocked = Enumerable.Range(1, 5).Select(i => Path.Combine(rig.Service.SpoolPath, $"{newest + i:D12}.seg")).ToList();
        blocked.ForEach(p => Directory.CreateDirectory(p));
        var active = Path.Combine(rig.Service.SpoolPath, $"{newest:D12}.seg");
        using (var filler = await rig.Service.ConnectAsync($"{sensor}-fill", MqttProtocolVersion.V500, Ct))
        {
            for (var i = 0; i < 1000 && new FileInfo(active).Length < SegmentBytes; i++)
            {
                var result = await filler.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic($"campus/faults/r1/{sensor}-fill/telemetry").WithPayload(Reading(ts + i))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
                Assert.True(result.IsSuccess);
            }
        }

        Assert.True(new FileInfo(active).Length >= SegmentBytes, "the active segment did not fill up");
        var failedBefore = await Stored.MetricAsync(rig.Service.Http, "telemetry_mqtt_messages_failed_total", Ct, "reason=\"disk_error\"");

        using (var raw = await RawMqtt5.ConnectAsync(rig.Service.MqttPort, sensor, Ct))
        {
            await raw.SendAsync(Publishes(sensor, ts), Ct);
            var (closed, received) = await raw.ReceiveUntilClosedAsync(Within, Ct);
            Assert.True(closed, "the connection stayed open after its messages could not be made durable");
            var types = PacketTypes(received);
            Assert.DoesNotContain(0x40, types);
            Assert.Equal([0xE0], types); // MQTT 5: DISCONNECT (unspecified error), nothing else
        }

        await Poll.UntilAsync("the failed messages to be counted",
            () => Stored.MetricAsync(rig.Service.Http, "telemetry_mqtt_messages_failed_total", Ct, "reason=\"disk_error\""), n => n > failedBefore, Within, cancellationToken: Ct);

        blocked.ForEach(p => Directory.Delete(p));
        await ResendAndAssertStoredOnceAsync(rig, sensor, ts);
    }

    [Fact]
    public async Task Messages_in_flight_while_the_spool_stays_full_get_no_PUBACK_the_connection_closes_and_the_resend_is_acknowledged()
    {
        await using var rig = await FaultRig.StartAsync(["--Spool:MaxBytes=65536", "--Spool:SegmentBytes=16384", "--Spool:FullWaitTimeout=00:00:03"], Ct);
        var sensor = $"undurable-full-{Guid.NewGuid():N}"[..24];
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;

        rig.Influx.Process.Stop();
        using (var filler = await rig.Service.ConnectAsync($"{sensor}-fill", MqttProtocolVersion.V500, Ct))
        {
            for (var i = 0; i < 100_000 && !(await rig.SpoolHealthAsync(Ct)).Full; i++)
            {
                var result = await filler.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic($"campus/faults/r1/{sensor}-fill/telemetry").WithPayload(Reading(ts + i))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce).Build(), Ct);
                Assert.True(result.IsSuccess);
            }
        }

        Assert.True((await rig.SpoolHealthAsync(Ct)).Full, "the spool did not fill up");

        // The filler's message that found the spool full is given up: after Spool:FullWaitTimeout (spool_full) or, when
        // the broker sees the filler's disconnect first, as connection_closed. Count the raw connection's from then on.
        await Poll.UntilAsync("the filler's waiting message to be given up",
            () => Stored.MetricAsync(rig.Service.Http, "telemetry_mqtt_messages_failed_total", Ct), n => n >= 1, Within, cancellationToken: Ct);
        var failedBefore = await Stored.MetricAsync(rig.Service.Http, "telemetry_mqtt_messages_failed_total", Ct, "reason=\"spool_full\"");

        using (var raw = await RawMqtt5.ConnectAsync(rig.Service.MqttPort, sensor, Ct))
        {
            await raw.SendAsync(Publishes(sensor, ts), Ct);
            var (closed, received) = await raw.ReceiveUntilClosedAsync(Within, Ct);
            Assert.True(closed, "the connection stayed open while the spool stayed full");
            Assert.DoesNotContain(0x40, PacketTypes(received));
        }

        await Poll.UntilAsync("the failed messages to be counted",
            () => Stored.MetricAsync(rig.Service.Http, "telemetry_mqtt_messages_failed_total", Ct, "reason=\"spool_full\""), n => n > failedBefore, Within, cancellationToken: Ct);

        await rig.Influx.Process.StartAsync(Ct);
        await Poll.UntilAsync("the spool to have room again", () => rig.SpoolHealthAsync(Ct), h => !h.Full, Within, cancellationToken: Ct);
        await ResendAndAssertStoredOnceAsync(rig, sensor, ts);
    }

    /// <summary>The device sends its unacknowledged messages again: all are acknowledged, in order, and stored once.</summary>
    static async Task ResendAndAssertStoredOnceAsync(FaultRig rig, string sensor, long ts)
    {
        using (var raw = await RawMqtt5.ConnectAsync(rig.Service.MqttPort, sensor, Ct))
        {
            await raw.SendAsync(Publishes(sensor, ts), Ct);
            for (var i = 1; i <= InFlight; i++)
            {
                var (type, body) = await raw.ReadPacketAsync(Ct);
                Assert.Equal(0x40, type);
                Assert.Equal(i, (body[0] << 8) | body[1]);
                Assert.Equal(0, body.Length == 2 ? 0 : body[2]); // success
            }
        }

        var stored = await Poll.UntilAsync($"the readings of {sensor} in InfluxDB", () => StoredAsync(rig, sensor), s => s.Count >= InFlight, Within, cancellationToken: Ct);
        Assert.Equal(Enumerable.Range(1, InFlight).Select(i => ts + i), stored.Order());
    }

    static byte[] Publishes(string sensor, long ts) =>
        [.. Enumerable.Range(1, InFlight).SelectMany(i => RawMqtt5.Publish(0x32, Encoding.UTF8.GetBytes($"campus/faults/r1/{sensor}/telemetry"), (ushort)i, [], Reading(ts + i)))];

    static byte[] Reading(long ts) => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"ts\":{ts},\"temperature\":{ts % 1000 + 0.5}}}"));

    static async Task<List<long>> StoredAsync(FaultRig rig, string sensor)
    {
        var series = await rig.Influx.QueryAsync("campus", $"SELECT temperature FROM telemetry WHERE sensor = '{sensor}'", Ct);
        return [.. series.SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => s.Get(i, "time").GetInt64()))];
    }

    /// <summary>The packet types (high nibble of each fixed header) in what a server sent.</summary>
    static List<int> PacketTypes(byte[] received)
    {
        var types = new List<int>();
        var at = 0;
        while (at < received.Length)
        {
            types.Add(received[at] & 0xF0);
            int length = 0, shift = 0;
            byte b;
            do
            {
                b = received[++at];
                length |= (b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);

            at += 1 + length;
        }

        return types;
    }
}
