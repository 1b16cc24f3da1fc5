using System.Net;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>
/// Identities on the real broker with a credential store: a client id cannot be borrowed from another identity, alerts
/// cannot be forged, subscriptions are authorised, wrong passwords are throttled, and edits of the store apply while
/// running (a broken edit keeps the previous store and shows in /health/ready).
/// </summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class DeviceIdentityTests(ServiceOnInfluxV1Fixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    Task<TelemetryServiceHost> StartAsync(string store, params string[] settings) => TelemetryServiceHost.StartAsync(
    [
        "--Influx:Api=V1", $"--Influx:Url={fixture.Influx.Url}", $"--Influx:Database={ServiceOnInfluxV1Fixture.Database}",
        $"--Broker:CredentialsFile={store}", .. settings,
    ], Ct);

    [Fact]
    public async Task A_client_id_held_by_another_identity_cannot_be_taken_over_but_the_same_identity_may()
    {
        var store = TestCredentials.WriteStore(TestCredentials.Line("freezer-1", "freezer-secret"), TestCredentials.Line("intruder", "intruder-secret"));
        await using var service = await StartAsync(store);

        using var freezer = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectAsync(freezer, service, "freezer-1", "freezer-1", "freezer-secret")).ResultCode);

        using var intruder = new MqttClientFactory().CreateMqttClient();
        var refused = await ConnectAsync(intruder, service, "freezer-1", "intruder", "intruder-secret");
        Assert.Equal(MqttClientConnectResultCode.ClientIdentifierNotValid, refused.ResultCode);
        Assert.Contains("client_id_in_use", refused.ReasonString, StringComparison.Ordinal);
        Assert.True(freezer.IsConnected, "the freezer's session survived the attempt");
        Assert.Equal(MqttClientPublishReasonCode.Success, (await PublishAsync(freezer, "freezer-1")).ReasonCode);

        // The same identity reconnecting takes its session over, as MQTT says.
        using var again = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectAsync(again, service, "freezer-1", "freezer-1", "freezer-secret")).ResultCode);
        await Poll.UntilAsync("the first freezer connection to be taken over", () => Task.FromResult(freezer.IsConnected), connected => !connected, cancellationToken: Ct);
        Assert.Equal(1, await RefusedConnectionsAsync(service, "client_id_in_use"));
    }

    [Fact]
    public async Task A_device_reclaims_its_own_client_id_from_another_identity_that_squats_it()
    {
        var store = TestCredentials.WriteStore(TestCredentials.Line("freezer-1", "freezer-secret"), TestCredentials.Line("squatter", "squatter-secret"));
        await using var service = await StartAsync(store);

        using var squatter = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectAsync(squatter, service, "freezer-1", "squatter", "squatter-secret")).ResultCode);

        using var freezer = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectAsync(freezer, service, "freezer-1", "freezer-1", "freezer-secret")).ResultCode);
        await Poll.UntilAsync("the squatter to be disconnected", () => Task.FromResult(squatter.IsConnected), connected => !connected,
            within: TimeSpan.FromSeconds(30), cancellationToken: Ct);
        Assert.True(freezer.IsConnected, "the real freezer holds its id");
        Assert.Equal(MqttClientPublishReasonCode.Success, (await PublishAsync(freezer, "freezer-1")).ReasonCode);
        Assert.Equal(1, await RefusedConnectionsAsync(service, "client_id_reclaimed"));

        // The squatter cannot take it back.
        using var back = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.ClientIdentifierNotValid, (await ConnectAsync(back, service, "freezer-1", "squatter", "squatter-secret")).ResultCode);
        Assert.True(freezer.IsConnected);
    }

    [Fact]
    public async Task Devices_cannot_forge_alerts_nor_subscribe_to_what_is_not_theirs_while_an_alerts_role_may_read_alerts()
    {
        var store = TestCredentials.WriteStore(
            TestCredentials.Line("sub-s1", "device-secret"),
            TestCredentials.Line("dashboard", "dashboard-secret", roles: ["alerts"]));
        await using var service = await StartAsync(store);

        using var device = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectAsync(device, service, "sub-s1", "sub-s1", "device-secret")).ResultCode);

        var forged = await device.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic("campus/alerts/b1/r1/freezer-9/freezer-too-warm").WithPayload("{\"state\":\"cleared\"}")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag().Build(), Ct);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, forged.ReasonCode);
        Assert.Contains("forged_alert", forged.ReasonString, StringComparison.Ordinal);
        Assert.Equal(1, (await service.RefusalTotalsAsync(Ct)).GetValueOrDefault("forged_alert"));

        var results = await SubscribeAsync(device, "#", "$SYS/#", "+/alerts/#", "campus/alerts/#", "campus/b1/r1/sub-s2/telemetry", "campus/+/+/+/telemetry",
            "campus/b1/r1/sub-s1/telemetry");
        Assert.Equal(
        [
            ("#", MqttClientSubscribeResultCode.NotAuthorized),
            ("$SYS/#", MqttClientSubscribeResultCode.NotAuthorized),
            ("+/alerts/#", MqttClientSubscribeResultCode.NotAuthorized),
            ("campus/alerts/#", MqttClientSubscribeResultCode.NotAuthorized),
            ("campus/b1/r1/sub-s2/telemetry", MqttClientSubscribeResultCode.NotAuthorized),
            ("campus/+/+/+/telemetry", MqttClientSubscribeResultCode.NotAuthorized),
            ("campus/b1/r1/sub-s1/telemetry", MqttClientSubscribeResultCode.GrantedQoS1),
        ], results);

        using var dashboard = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectAsync(dashboard, service, "dash-1", "dashboard", "dashboard-secret")).ResultCode);
        Assert.Equal(
            [("campus/alerts/#", MqttClientSubscribeResultCode.GrantedQoS1), ("#", MqttClientSubscribeResultCode.NotAuthorized)],
            await SubscribeAsync(dashboard, "campus/alerts/#", "#"));

        Assert.Equal(5, await MetricAsync(service, "telemetry_mqtt_subscriptions_refused_total", "subscription_not_allowed"));
        Assert.Equal(2, await MetricAsync(service, "telemetry_mqtt_subscriptions_refused_total", "alerts_role_required"));
    }

    [Fact]
    public async Task Many_wrong_passwords_lock_the_address_and_the_user_but_not_another_user_from_another_address()
    {
        var store = TestCredentials.WriteStore(TestCredentials.Line("victim", "right-password"), TestCredentials.Line("bystander", "bystander-password"));
        await using var service = await StartAsync(store, "--Broker:LoginThrottle:FirstDelay=00:00:00.001", "--Broker:LoginThrottle:MaxDelay=00:00:00.010");

        var codes = new List<MqttClientConnectResultCode>();
        for (var i = 0; i < 200; i++)
        {
            using var guess = new MqttClientFactory().CreateMqttClient();
            codes.Add((await ConnectAsync(guess, service, $"guess-{i}", "victim", $"wrong-{i}")).ResultCode);
        }

        // The first ten are checked (and wrong); from then on the address and the user are locked: refused unhashed.
        Assert.All(codes.Take(10), c => Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, c));
        Assert.All(codes.Skip(10), c => Assert.Equal(MqttClientConnectResultCode.NotAuthorized, c));

        using var victim = new MqttClientFactory().CreateMqttClient();
        var right = await ConnectAsync(victim, service, "victim", "victim", "right-password");
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, right.ResultCode);
        Assert.Contains("login_throttled", right.ReasonString, StringComparison.Ordinal);

        // Another user from another loopback address is not affected.
        using var bystander = new MqttClientFactory().CreateMqttClient();
        var other = await ConnectAsync(bystander, service, "bystander", "bystander", "bystander-password", new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        Assert.Equal(MqttClientConnectResultCode.Success, other.ResultCode);

        Assert.Equal(10, await RefusedConnectionsAsync(service, "bad_credentials"));
        Assert.Equal(191, await RefusedConnectionsAsync(service, "login_throttled"));
    }

    [Fact]
    public async Task Wrong_passwords_for_a_device_from_many_addresses_do_not_lock_the_device_out()
    {
        var store = TestCredentials.WriteStore(TestCredentials.Line("freezer-1", "freezer-secret"));
        await using var service = await StartAsync(store, "--Broker:LoginThrottle:FirstDelay=00:00:00.001", "--Broker:LoginThrottle:MaxDelay=00:00:00.010");

        for (var i = 2; i <= 11; i++)
        {
            using var guess = new MqttClientFactory().CreateMqttClient();
            var result = await ConnectAsync(guess, service, $"guess-{i}", "freezer-1", "wrong", new IPEndPoint(IPAddress.Parse($"127.0.0.{i}"), 0));
            Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, result.ResultCode);
        }

        using var freezer = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectAsync(freezer, service, "freezer-1", "freezer-1", "freezer-secret")).ResultCode);
        Assert.Equal(0, await RefusedConnectionsAsync(service, "login_throttled"));
    }

    [Fact]
    public async Task A_broken_edit_of_the_store_keeps_the_previous_one_and_shows_in_health_until_it_is_fixed()
    {
        var store = TestCredentials.WriteStore(TestCredentials.Line("edit-s1", "first-secret"));
        await using var service = await StartAsync(store);

        await File.WriteAllTextAsync(store, TestCredentials.Line("edit-s1", "first-secret") + "\nedit-s2:not-a-hash\n", Ct);
        var degraded = await Poll.UntilAsync("the credentials check to turn Degraded",
            () => CredentialsHealthAsync(service), h => h.Status == "Degraded", within: TimeSpan.FromSeconds(30), cancellationToken: Ct);
        Assert.Contains("line 2", degraded.Description, StringComparison.Ordinal);

        using var device = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectAsync(device, service, "edit-s1", "edit-s1", "first-secret")).ResultCode);

        await File.WriteAllTextAsync(store, TestCredentials.Line("edit-s1", "first-secret") + "\n" + TestCredentials.Line("edit-s2", "second-secret") + "\n", Ct);
        await Poll.UntilAsync("the credentials check to turn Healthy", () => CredentialsHealthAsync(service), h => h.Status == "Healthy",
            within: TimeSpan.FromSeconds(30), cancellationToken: Ct);
        using var second = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await ConnectAsync(second, service, "edit-s2", "edit-s2", "second-secret")).ResultCode);
    }

    [Fact]
    public async Task Clear_text_users_in_configuration_stop_the_start_with_directions()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TelemetryServiceHost.StartAsync(
        [
            "--Influx:Api=V1", $"--Influx:Url={fixture.Influx.Url}", "--Broker:Users:device=device-secret",
        ], Ct));
        Assert.Contains("Broker:CredentialsFile", error.ToString(), StringComparison.Ordinal);
    }

    internal static async Task<MqttClientConnectResult> ConnectAsync(IMqttClient client, TelemetryServiceHost service, string clientId, string user, string password,
        EndPoint? localEndpoint = null)
    {
        var options = new MqttClientOptionsBuilder()
            .WithEndPoint(new IPEndPoint(IPAddress.Loopback, service.MqttPort))
            .WithTcpServer(o => o.LocalEndpoint = localEndpoint)
            .WithClientId(clientId)
            .WithCredentials(user, password)
            .WithTimeout(TimeSpan.FromSeconds(30))
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .Build();
        return await client.ConnectAsync(options, Ct);
    }

    static Task<MqttClientPublishResult> PublishAsync(IMqttClient client, string sensor) =>
        client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"campus/ident/r1/{sensor}/telemetry")
            .WithPayload($"{{\"ts\":{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()},\"people\":1}}")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), Ct);

    static async Task<List<(string, MqttClientSubscribeResultCode)>> SubscribeAsync(IMqttClient client, params string[] filters)
    {
        var builder = new MqttClientSubscribeOptionsBuilder();
        foreach (var filter in filters)
        {
            builder.WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce);
        }

        var result = await client.SubscribeAsync(builder.Build(), Ct);
        return [.. result.Items.Select(i => (i.TopicFilter.Topic, i.ResultCode))];
    }

    static Task<long> RefusedConnectionsAsync(TelemetryServiceHost service, string reason) =>
        MetricAsync(service, "telemetry_mqtt_connections_refused_total", reason);

    /// <summary>A counter's value for one <c>reason</c>, from /metrics (by reason: other services in this process export the same names).</summary>
    internal static async Task<long> MetricAsync(TelemetryServiceHost service, string name, string reason) =>
        (long)PrometheusText.Sum(await service.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct), name, $"reason=\"{reason}\"");

    static async Task<(string Status, string Description)> CredentialsHealthAsync(TelemetryServiceHost service)
    {
        using var response = await service.Http.GetAsync(new Uri("health/ready", UriKind.Relative), Ct);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var check = doc.RootElement.GetProperty("checks").GetProperty("credentials");
        return (check.GetProperty("status").GetString()!, check.GetProperty("description").GetString() ?? "");
    }
}
