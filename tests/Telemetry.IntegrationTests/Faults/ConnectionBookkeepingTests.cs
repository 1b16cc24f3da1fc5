using System.Net.Http.Json;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Telemetry.Broker;
using Telemetry.IntegrationTests.Broker;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>
/// What the broker keeps about connections to tell sensors that their device connected or went away: only the
/// sensors a connection itself got messages accepted for, handed on only to the same identity's next connection, and
/// a bounded map however many client ids come and go.
/// </summary>
public sealed class ConnectionBookkeepingTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static readonly string Registry = """
        campus: { id: bk, name: Bookkeeping, timezone: UTC }
        unregistered: accept
        kinds:
          beacon:
            interval: 1h
            metrics:
              people: { unit: count }
            alerts:
              - { id: offline, type: offline, intervals: 2, grace: 15s, severity: warning }
        buildings:
          - id: bk
            rooms:
              - id: r1
                capacity: 1
                sensors:
                  - { id: bk-dev, kind: beacon }
                  - { id: bk-many, kind: beacon }
        """;

    static async Task<FaultRig> StartAsync(CancellationToken ct, params string[] more)
    {
        var registry = Path.Combine(Directory.CreateTempSubdirectory("telemetry-it-bk-").FullName, "campus.yaml");
        await File.WriteAllTextAsync(registry, Registry, ct);
        return await FaultRig.StartAsync([$"--Campus:RegistryPath={registry}", .. more], ct);
    }

    [Fact]
    public async Task Another_identity_reusing_a_gone_devices_client_id_does_not_keep_its_sensor_online()
    {
        var store = TestCredentials.WriteStore(
            TestCredentials.Line("bk-dev", "device-secret"),
            TestCredentials.Line("bk-intruder", "intruder-secret"));
        await using var rig = await StartAsync(Ct, $"--Broker:CredentialsFile={store}");

        using (var device = await ConnectAsync(rig, "bk-dev", "bk-dev", "device-secret"))
        {
            Assert.True((await PublishAsync(device, "bk-dev")).IsSuccess);
            await device.DisconnectAsync(cancellationToken: Ct);
        }

        // The device is gone; within its 15 s grace someone else connects with its client id and stays.
        using var intruder = await ConnectAsync(rig, "bk-dev", "bk-intruder", "intruder-secret");

        await Poll.UntilAsync(
            "the offline alert of bk-dev although another identity holds its client id",
            () => rig.Service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
            found => found.EnumerateArray().Any(a => a.GetProperty("sensor").GetString() == "bk-dev" && a.GetProperty("rule").GetString() == "offline"),
            within: TimeSpan.FromSeconds(90), cancellationToken: Ct);
        Assert.True(intruder.IsConnected);
    }

    [Fact]
    public async Task Rotated_client_ids_leave_a_bounded_map_measured()
    {
        const int Clients = 10_000;
        await using var rig = await StartAsync(Ct, "--Broker:MaxNewConnectionsPerSecondPerAddress=1000000", "--Broker:NewConnectionBurstPerAddress=1000000");
        var ingest = rig.Service.Services.GetRequiredService<IngestHandler>();
        var before = Memory();

        for (var start = 0; start < Clients; start += 50)
        {
            await Task.WhenAll(Enumerable.Range(start, 50).Select(async i =>
            {
                using var client = await ConnectAsync(rig, $"bk-rot-{i}", null, null);
                Assert.True((await PublishAsync(client, "bk-many")).IsSuccess);
                await client.DisconnectAsync(cancellationToken: Ct);
            }));
        }

        var remembered = await Poll.UntilAsync("every rotated client's disconnect handled", () => Task.FromResult(ingest.RememberedClients),
            n => n >= Clients, within: TimeSpan.FromSeconds(60), cancellationToken: Ct);
        Assert.InRange(remembered, 1, 10_000);
        var after = Memory();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{Clients} rotated client ids (connect, publish, disconnect): {remembered} remembered; managed memory after a full GC {before / 1024.0 / 1024.0:F1} MB before, {after / 1024.0 / 1024.0:F1} MB after, {(after - before) / 1024.0 / 1024.0:+0.0;-0.0} MB");
    }

    static async Task<IMqttClient> ConnectAsync(FaultRig rig, string clientId, string? user, string? password)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", rig.Service.MqttPort)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(30));
        if (user is not null)
        {
            options = options.WithCredentials(user, password);
        }

        var result = await client.ConnectAsync(options.Build(), Ct);
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return client;
    }

    static Task<MqttClientPublishResult> PublishAsync(IMqttClient client, string sensor) =>
        client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"campus/bk/r1/{sensor}/telemetry")
            .WithPayload($"{{\"ts\":{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()},\"people\":1}}")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), Ct);

    static long Memory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
