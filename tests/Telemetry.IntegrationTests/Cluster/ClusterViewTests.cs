using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Tests.Polling;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>
/// Two service processes as a cluster on a real PostgreSQL: <c>/api/cluster</c> on either node lists both with their
/// own MQTT connection counts, each node's <c>/metrics</c> carries its node label, and while the nodes run different
/// registry files the <c>registry</c> check is Degraded on both with both hashes visible — Healthy again once the
/// second node's file is made the same and reloaded.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class ClusterViewTests(PostgresFixture postgres) : IAsyncLifetime
{
    const string Registry = """
        campus: { id: viewcampus, name: View campus, timezone: UTC }
        unregistered: accept
        kinds:
          air:
            interval: 1h
            metrics:
              temperature: { unit: "°C", rollup: temperature }
        buildings:
          - id: vb
            rooms:
              - id: lab
                capacity: 10
                sensors:
                  - { id: view-air, kind: air }

        """;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    string directory = "";

    public ValueTask InitializeAsync()
    {
        directory = Directory.CreateTempSubdirectory("telemetry-it-clusterview-").FullName;
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Both_nodes_list_the_cluster_and_a_registry_difference_is_degraded_on_both_until_the_files_agree()
    {
        var (database, connectionString) = await ClusterProcesses.NewClusterDatabaseAsync(postgres.Server, "view", Ct);
        var registryA = Path.Combine(directory, "a.yaml");
        var registryB = Path.Combine(directory, "b.yaml");
        await File.WriteAllTextAsync(registryA, Registry, Ct);
        await File.WriteAllTextAsync(registryB, Registry.Replace("- { id: view-air, kind: air }", "- { id: view-air, kind: air }\n          - { id: view-air2, kind: air }", StringComparison.Ordinal), Ct);
        var hashA = Hash(registryA);
        var hashB = Hash(registryB);
        Assert.NotEqual(hashA, hashB);

        await using var a = await ServiceProcess.StartAsync([.. ClusterProcesses.NodeSettings(connectionString, database, "node-a"), $"--Campus:RegistryPath={registryA}"], Ct);
        await using var b = await ServiceProcess.StartAsync([.. ClusterProcesses.NodeSettings(connectionString, database, "node-b"), $"--Campus:RegistryPath={registryB}"], Ct);

        using var device = new MqttClientFactory().CreateMqttClient();
        await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", a.MqttPort).WithClientId("view-air")
            .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30)).Build(), Ct);

        foreach (var (asked, name) in new[] { (a, "a"), (b, "b") })
        {
            var view = await Poll.UntilAsync(
                $"node {name}'s /api/cluster to list both nodes active, node-a with one MQTT connection and node-b with none",
                () => asked.Http.GetFromJsonAsync<JsonElement>("api/cluster", Ct),
                v => Node(v, "node-a") is { } na && Node(v, "node-b") is { } nb
                    && na.GetProperty("status").GetString() == "active" && nb.GetProperty("status").GetString() == "active"
                    && na.GetProperty("mqttConnections").GetInt32() == 1 && nb.GetProperty("mqttConnections").GetInt32() == 0,
                within: TimeSpan.FromSeconds(60),
                cancellationToken: Ct);
            Assert.False(view.GetProperty("registriesAgree").GetBoolean());
            Assert.Equal(new[] { hashA, hashB }.Order(StringComparer.Ordinal),
                view.GetProperty("registryHashes").EnumerateArray().Select(h => h.GetString()!).Order(StringComparer.Ordinal));
            Assert.Equal(hashA, Node(view, "node-a")!.Value.GetProperty("registryHash").GetString());
            Assert.Equal(hashB, Node(view, "node-b")!.Value.GetProperty("registryHash").GetString());
            Assert.True(Node(view, "node-a")!.Value.GetProperty("activations").GetInt32() + Node(view, "node-b")!.Value.GetProperty("activations").GetInt32() > 0);
        }

        var metricsB = await b.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct);
        Assert.All(metricsB.Split('\n').Where(l => l.StartsWith("telemetry_", StringComparison.Ordinal)),
            l => Assert.Contains("node=\"node-b\"", l, StringComparison.Ordinal));
        Assert.Equal(0, PrometheusText.Sum(metricsB, "telemetry_mqtt_connections", "node=\"node-b\""));
        var metricsA = await a.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct);
        Assert.Equal(1, PrometheusText.Sum(metricsA, "telemetry_mqtt_connections", "node=\"node-a\""));

        foreach (var (asked, name, own) in new[] { (a, "node-a", hashA), (b, "node-b", hashB) })
        {
            var check = await Poll.UntilAsync(
                $"{name}'s registry check to be Degraded naming both nodes' hashes",
                () => RegistryCheckAsync(asked),
                c => c.GetProperty("status").GetString() == "Degraded" && c.GetProperty("data").TryGetProperty("nodes", out var nodes)
                    && nodes.TryGetProperty("node-a", out var ha) && ha.GetString() == hashA && nodes.TryGetProperty("node-b", out var hb) && hb.GetString() == hashB,
                within: TimeSpan.FromSeconds(60),
                cancellationToken: Ct);
            Assert.Equal(own, check.GetProperty("data").GetProperty("hash").GetString());
            var metrics = await asked.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct);
            Assert.Equal(1, PrometheusText.Sum(metrics, "telemetry_registry_nodes_disagreeing", $"node=\"{name}\""));
            Assert.Equal(1, PrometheusText.Sum(metrics, "telemetry_registry_info", $"hash=\"{own}\""));
        }

        // The operator rolls the same file out to node b and reloads it.
        File.Copy(registryA, registryB, overwrite: true);
        using (var reload = await b.Http.PostAsync(new Uri("api/registry/reload", UriKind.Relative), null, Ct))
        {
            Assert.True(reload.IsSuccessStatusCode, await reload.Content.ReadAsStringAsync(Ct));
        }

        foreach (var (asked, name) in new[] { (a, "node-a"), (b, "node-b") })
        {
            var check = await Poll.UntilAsync(
                $"{name}'s registry check to be Healthy with both nodes on {hashA}",
                () => RegistryCheckAsync(asked),
                c => c.GetProperty("status").GetString() == "Healthy" && c.GetProperty("data").TryGetProperty("nodes", out var nodes)
                    && nodes.TryGetProperty("node-a", out var ha) && ha.GetString() == hashA && nodes.TryGetProperty("node-b", out var hb) && hb.GetString() == hashA,
                within: TimeSpan.FromSeconds(60),
                cancellationToken: Ct);
            Assert.Equal(hashA, check.GetProperty("data").GetProperty("hash").GetString());
            var metrics = await asked.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct);
            Assert.Equal(0, PrometheusText.Sum(metrics, "telemetry_registry_nodes_disagreeing", $"node=\"{name}\""));
        }

        var agreed = await a.Http.GetFromJsonAsync<JsonElement>("api/cluster", Ct);
        Assert.True(agreed.GetProperty("registriesAgree").GetBoolean(), agreed.ToString());
    }

    static string Hash(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    static JsonElement? Node(JsonElement view, string name) =>
        view.GetProperty("nodes").EnumerateArray().Where(n => n.GetProperty("node").GetString() == name).Cast<JsonElement?>().FirstOrDefault();

    /// <summary>The <c>registry</c> entry of <c>/health/ready</c>, whatever the overall status (these nodes have no InfluxDB: 503).</summary>
    static async Task<JsonElement> RegistryCheckAsync(ServiceProcess node)
    {
        using var response = await node.Http.GetAsync(new Uri("health/ready", UriKind.Relative), Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        return body.GetProperty("checks").GetProperty("registry");
    }
}
