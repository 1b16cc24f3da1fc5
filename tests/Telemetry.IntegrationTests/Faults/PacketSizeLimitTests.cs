using MQTTnet;
using MQTTnet.Protocol;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>A packet above Broker:MaxPacketBytes closes its connection before it is buffered; counted; others unaffected.</summary>
public sealed class PacketSizeLimitTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_oversized_packet_closes_only_its_own_connection()
    {
        await using var rig = await FaultRig.StartAsync(["--Broker:MaxPacketBytes=65536"], Ct);
        using var bystander = await rig.Service.ConnectAsync("size-ok", cancellationToken: Ct);
        using var offender = await rig.Service.ConnectAsync("size-big", cancellationToken: Ct);
        // The service's meter is process-wide: other tests running at the same time in this process count refusals of
        // their own, so the count is read by reason and compared with what it was before.
        const string TooLarge = "reason=\"packet_too_large\"";
        var before = await Stored.MetricAsync(rig.Service.Http, "telemetry_mqtt_messages_refused_total", Ct, TooLarge);

        var big = new MqttApplicationMessageBuilder()
            .WithTopic("campus/size/r1/size-big/telemetry")
            .WithPayload(new byte[200_000])
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        await Assert.ThrowsAnyAsync<Exception>(() => offender.PublishAsync(big, timeout.Token));

        await Poll.UntilAsync(
            "the oversized packet to be counted as refused (packet_too_large)",
            () => Stored.MetricAsync(rig.Service.Http, "telemetry_mqtt_messages_refused_total", Ct, TooLarge), n => n >= before + 1, cancellationToken: Ct);
        await Poll.UntilAsync("the offender's connection to be closed", () => Task.FromResult(offender.IsConnected), connected => !connected, cancellationToken: Ct);

        var ok = await bystander.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic("campus/size/r1/size-ok/telemetry").WithPayload("{\"temperature\":20}"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        Assert.True(ok.IsSuccess);
        Assert.Equal(1, await Poll.UntilAsync(
            "the bystander's reading in InfluxDB",
            () => rig.Influx.CountAsync("campus", "telemetry", "temperature", "sensor = 'size-ok'", Ct), n => n >= 1, cancellationToken: Ct));
        Assert.Equal(0, await rig.Influx.CountAsync("campus", "telemetry", "temperature", "sensor = 'size-big'", Ct));
    }
}
