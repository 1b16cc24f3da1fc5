using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Service.Cluster;
using Telemetry.Tests.Polling;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>
/// One node (the default localhost clustering), in-process with real sockets: every series at <c>/metrics</c> carries
/// its <c>node</c> label (the configured name, or host name and silo port by default), <c>/api/cluster</c> lists it with
/// its MQTT connections, grain activations and registry hash, <c>/health/ready</c>'s <c>registry</c> check shows the hash,
/// and <c>service_stats</c> is written with the node's name as its <c>host</c> tag.
/// </summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class NodeViewTests(ServiceOnInfluxV1Fixture fixture) : IAsyncLifetime
{
    const string Registry = """
        campus: { id: nodeview, name: Node view campus, timezone: UTC }
        unregistered: accept
        kinds:
          air:
            interval: 1h
            metrics:
              temperature: { unit: "°C", rollup: temperature }
        buildings:
          - id: nv
            rooms:
              - id: lab
                capacity: 10
                sensors:
                  - { id: nv-air, kind: air }

        """;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    string directory = "";
    string registryPath = "";

    public async ValueTask InitializeAsync()
    {
        directory = Directory.CreateTempSubdirectory("telemetry-it-nodeview-").FullName;
        registryPath = Path.Combine(directory, "campus.yaml");
        await File.WriteAllTextAsync(registryPath, Registry, Ct);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_named_node_labels_its_metrics_lists_itself_in_the_cluster_view_and_writes_its_stats_under_its_name()
    {
        var node = $"nv-{Guid.NewGuid():N}"[..16];
        var hash = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(registryPath, Ct)));
        await using var service = await TelemetryServiceHost.StartAsync(
            ["--Influx:Api=V1", $"--Influx:Url={fixture.Influx.Url}", $"--Influx:Database={ServiceOnInfluxV1Fixture.Database}",
             $"--Campus:RegistryPath={registryPath}", "--Campus:StateInterval=00:00:01", $"--Orleans:NodeName={node}"],
            Ct, Path.Combine(directory, "spool"));
        using var device = await service.ConnectAsync("nv-air", cancellationToken: Ct);

        var view = await Poll.UntilAsync(
            "/api/cluster to list this node with its one MQTT connection",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/cluster", Ct),
            v => v.GetProperty("nodes").EnumerateArray().Any(n => n.GetProperty("node").GetString() == node && n.GetProperty("mqttConnections").GetInt32() == 1),
            within: TimeSpan.FromSeconds(60),
            cancellationToken: Ct);
        var self = Assert.Single(view.GetProperty("nodes").EnumerateArray());
        Assert.Equal(node, view.GetProperty("answeredBy").GetString());
        Assert.True(view.GetProperty("registriesAgree").GetBoolean());
        Assert.Equal("active", self.GetProperty("status").GetString());
        Assert.Equal(hash, self.GetProperty("registryHash").GetString());
        Assert.True(self.GetProperty("activations").GetInt32() > 0, self.ToString());

        var metrics = await service.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct);
        var samples = metrics.Split('\n').Where(l => l.StartsWith("telemetry_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(samples);
        Assert.All(samples, l => Assert.Contains($"node=\"{node}\"", l, StringComparison.Ordinal));
        Assert.Equal(1, PrometheusText.Sum(metrics, "telemetry_mqtt_connections", $"node=\"{node}\""));
        Assert.Equal(1, PrometheusText.Sum(metrics, "telemetry_registry_info", $"hash=\"{hash}\""));
        Assert.Contains(samples, l => l.StartsWith("telemetry_registry_nodes_disagreeing{", StringComparison.Ordinal));
        Assert.Equal(0, PrometheusText.Sum(metrics, "telemetry_registry_nodes_disagreeing"));

        var health = await service.Http.GetFromJsonAsync<JsonElement>("health/ready", Ct);
        var registry = health.GetProperty("checks").GetProperty("registry");
        Assert.Equal("Healthy", registry.GetProperty("status").GetString());
        Assert.Equal(hash, registry.GetProperty("data").GetProperty("hash").GetString());

        await Poll.UntilAsync(
            $"service_stats in InfluxDB with host = {node}",
            () => fixture.Influx.CountAsync(ServiceOnInfluxV1Fixture.Database, "service_stats", "messages_accepted", $"\"host\" = '{node}'", Ct),
            count => count > 0,
            within: TimeSpan.FromSeconds(60),
            cancellationToken: Ct);
    }

    [Fact]
    public async Task Without_a_name_the_node_label_is_the_host_name_and_silo_port()
    {
        await using var service = await TelemetryServiceHost.StartAsync(
            ["--Influx:Api=V1", $"--Influx:Url={fixture.Influx.Url}", $"--Influx:Database={ServiceOnInfluxV1Fixture.Database}"],
            Ct, Path.Combine(directory, "spool"));
        var expected = $"{Environment.MachineName}:{service.Services.GetRequiredService<IOptions<SiloOptions>>().Value.SiloPort}";

        var metrics = await service.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct);
        var samples = metrics.Split('\n').Where(l => l.StartsWith("telemetry_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(samples);
        Assert.All(samples, l => Assert.Contains($"node=\"{expected}\"", l, StringComparison.Ordinal));
        Assert.Equal(1, PrometheusText.Sum(metrics, "telemetry_registry_info", "hash=\"none\""));
    }
}
