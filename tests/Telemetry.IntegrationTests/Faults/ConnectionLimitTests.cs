using MQTTnet;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>Beyond Broker:MaxConnections new connections are refused at accept with a reason and counted; the ones held keep working.</summary>
public sealed class ConnectionLimitTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Connections_beyond_the_limit_are_refused_and_counted()
    {
        await using var rig = await FaultRig.StartAsync(["--Broker:MaxConnections=2"], Ct);
        using var first = await rig.Service.ConnectAsync("limit-1", cancellationToken: Ct);
        using var second = await rig.Service.ConnectAsync("limit-2", cancellationToken: Ct);

        // Counted from the TCP accept, so the third socket is closed before its CONNECT is read: no CONNACK.
        using var third = new MqttClientFactory().CreateMqttClient();
        await Assert.ThrowsAnyAsync<MQTTnet.Exceptions.MqttCommunicationException>(() => third.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", rig.Service.MqttPort).WithClientId("limit-3").Build(), Ct));
        Assert.False(third.IsConnected);
        // By its reason: the exporter reads meters by name, so other services in this test process add their refusals.
        Assert.Equal(1, await Stored.MetricAsync(rig.Service.Http, "telemetry_mqtt_connections_refused_total", Ct, "reason=\"too_many_connections\""));

        var publish = await first.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic("campus/limit/r1/limit-1/telemetry").WithPayload("{\"temperature\":20}"u8.ToArray())
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        Assert.True(publish.IsSuccess);
        Assert.True(second.IsConnected);
    }
}
