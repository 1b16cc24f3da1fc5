using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.Broker;

namespace Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// The identity decides which sensors a connection may publish for, not the client id: a device only for the sensor
/// named by its identity (whatever client id it chose), a gateway for the sensors the credential store lists; another
/// sensor is refused with its reason and counted, and the device's own messages still go through.
/// </summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class SensorAclTests(ServiceOnInfluxV1Fixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_device_publishing_for_another_device_is_refused_while_gateways_may_publish_for_their_sensors()
    {
        var store = TestCredentials.WriteStore(
            TestCredentials.Line("acl-s1", "device-secret"),
            TestCredentials.Line("gateway", "gateway-secret", sensors: ["acl-s2"]));
        await using var service = await TelemetryServiceHost.StartAsync(
        [
            "--Influx:Api=V1", $"--Influx:Url={fixture.Influx.Url}", $"--Influx:Database={ServiceOnInfluxV1Fixture.Database}",
            $"--Broker:CredentialsFile={store}",
        ], Ct);

        // The client id names the other sensor: it does not matter, the identity acl-s1 does.
        using var device = await ConnectAsync(service, "acl-s2", "acl-s1", "device-secret");
        Assert.Equal(MqttClientPublishReasonCode.Success, (await PublishAsync(device, "acl-s1")).ReasonCode);

        var foreign = await PublishAsync(device, "acl-s2");
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, foreign.ReasonCode);
        Assert.Contains("sensor_not_allowed", foreign.ReasonString, StringComparison.Ordinal);
        Assert.Equal(1, (await service.RefusalTotalsAsync(Ct)).GetValueOrDefault("sensor_not_allowed"));

        // The refusal harmed nothing: the same connection goes on for its own sensor.
        Assert.Equal(MqttClientPublishReasonCode.Success, (await PublishAsync(device, "acl-s1")).ReasonCode);

        using var gateway = await ConnectAsync(service, "gw-1", "gateway", "gateway-secret");
        Assert.Equal(MqttClientPublishReasonCode.Success, (await PublishAsync(gateway, "acl-s2")).ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await PublishAsync(gateway, "acl-s3")).ReasonCode);

        var stored = await Poll.UntilAsync(
            "the three accepted readings of building acl in InfluxDB",
            () => fixture.Influx.QueryAsync(ServiceOnInfluxV1Fixture.Database, "SELECT count(people) FROM telemetry WHERE building = 'acl' GROUP BY sensor", Ct),
            found => found.Sum(s => s.Get(0, "count").GetInt64()) >= 3, cancellationToken: Ct);
        Assert.Equal([("acl-s1", 2L), ("acl-s2", 1L)],
            stored.Select(s => (s.Tags["sensor"], s.Get(0, "count").GetInt64())).Order());
    }

    static async Task<IMqttClient> ConnectAsync(TelemetryServiceHost service, string clientId, string user, string password)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", service.MqttPort)
            .WithClientId(clientId)
            .WithCredentials(user, password)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .Build(), Ct);
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return client;
    }

    static Task<MqttClientPublishResult> PublishAsync(IMqttClient client, string sensor) =>
        client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"campus/acl/r1/{sensor}/telemetry")
            .WithPayload($"{{\"ts\":{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()},\"people\":1}}")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), Ct);
}
