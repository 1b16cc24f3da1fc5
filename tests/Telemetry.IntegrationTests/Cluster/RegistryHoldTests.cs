using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.Grains.Cluster;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.Tests.Polling;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>
/// The real service in-process, its registry agreement switched by the test (standing for another live node with a
/// different registry hash): while the node's registry disagrees, a reload that removes an alert rule does not reach
/// the sensor's grain — the grain handles the sensor's next message under the registration it last applied and its open
/// alert stays — and once the nodes agree the grain takes the change up (the alert is cleared as <c>rule removed</c>).
/// </summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class RegistryHoldTests(ServiceOnInfluxV1Fixture fixture) : IAsyncLifetime
{
    const string Registry = """
        campus: { id: holdcampus, name: Hold campus, timezone: UTC }
        unregistered: accept
        kinds:
          freezer:
            interval: 1h
            metrics:
              temperature: { unit: "°C" }
              fault: { unit: code }
            alerts:
              - { id: freezer-fault, type: fault-code, metric: fault, severity: critical }
        buildings:
          - id: hb
            rooms:
              - id: lab
                capacity: 10
                sensors:
                  - { id: hold-freezer, kind: freezer }

        """;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    string directory = "";
    string registryPath = "";

    public async ValueTask InitializeAsync()
    {
        directory = Directory.CreateTempSubdirectory("telemetry-it-hold-").FullName;
        registryPath = Path.Combine(directory, "campus.yaml");
        await File.WriteAllTextAsync(registryPath, Registry, Ct);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_rule_removed_while_the_nodes_disagree_keeps_the_open_alert_until_they_agree()
    {
        var agreement = new SwitchedAgreement();
        await using var service = await TelemetryServiceHost.StartAsync(
            ["--Influx:Api=V1", $"--Influx:Url={fixture.Influx.Url}", $"--Influx:Database={ServiceOnInfluxV1Fixture.Database}",
             $"--Campus:RegistryPath={registryPath}", "--Campus:RegistryPollInterval=00:00:00.200"],
            Ct, Path.Combine(directory, "spool"), services => services.AddSingleton<IRegistryAgreement>(agreement));
        using var device = await service.ConnectAsync("hold-freezer", MqttProtocolVersion.V500, Ct);

        await PublishAsync(device, "{\"temperature\":-19,\"fault\":3}");
        var raised = await Poll.UntilAsync(
            "the freezer-fault alert of hold-freezer to be active",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
            alerts => IsOpen(alerts),
            within: TimeSpan.FromSeconds(60),
            cancellationToken: Ct);
        var alertId = raised.EnumerateArray().First(a => a.GetProperty("sensor").GetString() == "hold-freezer").GetProperty("id").GetString()!;

        // This node's registry now disagrees with the cluster's; the new file drops the rule.
        agreement.Holds = true;
        await File.WriteAllTextAsync(registryPath, Registry.Replace(
            "    alerts:\n      - { id: freezer-fault, type: fault-code, metric: fault, severity: critical }\n", "", StringComparison.Ordinal), Ct);
        using (var reload = await service.Http.PostAsync(new Uri("api/registry/reload", UriKind.Relative), null, Ct))
        {
            var body = await reload.Content.ReadAsStringAsync(Ct);
            Assert.True(reload.IsSuccessStatusCode, body);
            Assert.Contains("\"outcome\":\"reloaded\"", body, StringComparison.Ordinal);
        }

        await PublishAsync(device, "{\"temperature\":-18,\"fault\":3}");
        await Poll.UntilAsync(
            "hold-freezer's grain to have applied its second message",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/sensors/hold-freezer", Ct),
            sensor => sensor.GetProperty("messages").GetInt64() >= 2,
            within: TimeSpan.FromSeconds(60),
            cancellationToken: Ct);
        // The sensor's own engine still runs the rule: acknowledging goes through the grain, after the message it handled.
        using (var ack = await service.Http.PostAsJsonAsync(new Uri($"api/alerts/{alertId}/ack", UriKind.Relative), new { by = "operator" }, Ct))
        {
            var body = await ack.Content.ReadAsStringAsync(Ct);
            Assert.True(ack.IsSuccessStatusCode, $"{(int)ack.StatusCode} {body}");
        }

        Assert.True(IsOpen(await service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct)), "the alert was closed while the registries disagreed");

        // The nodes agree: the grain takes the reload up at its next message.
        agreement.Holds = false;
        await PublishAsync(device, "{\"temperature\":-17,\"fault\":3}");
        var recent = await Poll.UntilAsync(
            "the freezer-fault alert to be cleared as 'rule removed'",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/alerts?state=recent", Ct),
            alerts => alerts.EnumerateArray().Any(a => a.GetProperty("sensor").GetString() == "hold-freezer" && a.GetProperty("clearedBy").GetString() == "rule removed"),
            within: TimeSpan.FromSeconds(60),
            cancellationToken: Ct);
        Assert.False(IsOpen(await service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct)));
        Assert.NotEmpty(recent.EnumerateArray());
    }

    static bool IsOpen(JsonElement active) =>
        active.EnumerateArray().Any(a => a.GetProperty("sensor").GetString() == "hold-freezer" && a.GetProperty("rule").GetString() == "freezer-fault");

    static async Task PublishAsync(IMqttClient device, string payload)
    {
        var result = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("campus/hb/lab/hold-freezer/telemetry")
            .WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        Assert.True(result.IsSuccess, result.ReasonString);
    }

    /// <summary>The node's registry agreement as the test sets it (the cluster view's part, which this test does not exercise).</summary>
    sealed class SwitchedAgreement : IRegistryAgreement
    {
        volatile bool holds;

        public bool Holds
        {
            get => holds;
            set => holds = value;
        }

        public bool HoldsRegistryChanges => holds;
    }
}
