using System.Diagnostics;
using MQTTnet;
using MQTTnet.Formatter;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Tests.Polling;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>
/// Two service processes form a cluster on a real PostgreSQL; registered sensors report once through the first node
/// and go silent; one node is SIGKILLed before their offline clocks run out. Wherever their grains lived, every silent
/// sensor's offline alert is raised and shown by the surviving node's API: the grains of the dead node come back on the
/// survivor with their saved last-seen times. The first node started activates the campus grain (its starter calls it
/// first), so killing it takes the campus grain along (its reminder brings it back on the survivor); killing the second
/// leaves it running, and its membership watch starts the sensors again.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class GrainSurvivalTests(PostgresFixture postgres)
{
    const string Run = "gs";
    const int Sensors = 6;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Offline after 1.5 × 40 s of silence: time to see every reading and kill the node before any alert.</summary>
    static readonly string Registry = $$"""
        campus: { id: {{Run}}, name: Grain survival, timezone: UTC }
        unregistered: accept
        kinds:
          beacon:
            interval: 40s
            metrics:
              temperature: { unit: "°C" }
            alerts:
              - { id: offline, type: offline, intervals: 1.5, grace: 60s, severity: warning }
        buildings:
          - id: {{Run}}
            name: Grain survival
            rooms:
              - id: r1
                type: lab
                capacity: 4
                sensors:
        {{string.Join("\n", Enumerable.Range(0, Sensors).Select(i => $"          - {{ id: {Run}-s{i}, kind: beacon }}"))}}
        """;

    [Theory]
    [InlineData("node-a")]
    [InlineData("node-b")]
    public async Task A_killed_node_does_not_take_the_offline_alerts_of_silent_sensors_with_it(string victim)
    {
        var (database, connectionString) = await ClusterProcesses.NewClusterDatabaseAsync(postgres.Server, "survival", Ct);
        var directory = Directory.CreateTempSubdirectory("telemetry-it-survival-").FullName;
        try
        {
            var registry = Path.Combine(directory, "campus.yaml");
            await File.WriteAllTextAsync(registry, Registry, Ct);
            string[] common = [$"--Campus:RegistryPath={registry}", "--Grains:FeedCheckpointInterval=00:00:01", "--Campus:StateInterval=00:00:02"];
            await using var a = await ServiceProcess.StartAsync([.. ClusterProcesses.NodeSettings(connectionString, database, "node-a"), .. common], Ct);
            await using var b = await ServiceProcess.StartAsync([.. ClusterProcesses.NodeSettings(connectionString, database, "node-b"), .. common], Ct);
            await ClusterProcesses.WaitForActiveNodesAsync(postgres.Server, database, 2, Ct);

            var ids = Enumerable.Range(0, Sensors).Select(i => $"{Run}-s{i}").ToArray();
            using (var device = new MqttClientFactory().CreateMqttClient())
            {
                await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", a.MqttPort).WithClientId($"{Run}-device")
                    .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30)).Build(), Ct);
                foreach (var id in ids)
                {
                    var publish = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"campus/{Run}/r1/{id}/telemetry")
                        .WithPayload("""{"temperature":21.5}""").WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
                    Assert.True(publish.IsSuccess, publish.ReasonString);
                }

                await device.DisconnectAsync(cancellationToken: Ct);
            }

            // Every sensor took its reading (and its grain saved it: checkpoints every second) before the kill.
            foreach (var id in ids)
            {
                await Poll.UntilAsync(
                    $"node b's API to show {id}'s reading",
                    () => GetAsync(b, $"api/sensors/{id}"),
                    body => body.Contains("21.5", StringComparison.Ordinal),
                    within: TimeSpan.FromSeconds(60),
                    cancellationToken: Ct);
            }

            await Poll.UntilAsync(
                "every sensor's state saved in PostgreSQL",
                () => postgres.Server.QueryAsync(database, "SELECT grainidextensionstring FROM orleansstorage WHERE convert_from(payloadbinary, 'UTF8') LIKE '%\"readingsTotal\":1%'", Ct),
                rows => ids.All(id => rows.Any(r => r is not null && r.Contains(id, StringComparison.Ordinal))),
                within: TimeSpan.FromSeconds(60),
                show: rows => string.Join(",", rows),
                cancellationToken: Ct);
            var (killedNode, survivor) = victim == "node-a" ? (a, b) : (b, a);
            var before = await GetAsync(survivor, "api/alerts");
            Assert.DoesNotContain("offline", before, StringComparison.Ordinal);
            var startsBefore = PrometheusText.Sum(await GetAsync(survivor, "metrics"), "telemetry_campus_starts_total");

            killedNode.Process.Kill();
            var killed = Stopwatch.StartNew();
            TestContext.Current.TestOutputHelper?.WriteLine($"{victim} killed; active alerts before: {before}");

            var alerts = await Poll.UntilAsync(
                $"the surviving node's API to show the offline alerts of all {Sensors} silent sensors",
                () => GetAsync(survivor, "api/alerts"),
                body => ids.All(id => body.Contains($"{id}/offline/", StringComparison.Ordinal)),
                within: TimeSpan.FromMinutes(4),
                show: body => body,
                cancellationToken: Ct);
            TestContext.Current.TestOutputHelper?.WriteLine($"all offline alerts shown {killed.Elapsed.TotalSeconds:F0} s after the kill: {alerts}");

            // The campus grain started the sensors again on the survivor after the kill: activated there anew (by its
            // reminder when its node died; Orleans may also re-activate it when the dead node held its directory entry),
            // or through its membership watch.
            await Poll.UntilAsync(
                "the survivor's campus grain to count a start after the kill",
                () => GetAsync(survivor, "metrics"),
                metrics => PrometheusText.Sum(metrics, "telemetry_campus_starts_total") > startsBefore,
                within: TimeSpan.FromSeconds(60),
                show: metrics => $"before the kill {startsBefore}; now " + string.Join("; ", metrics.Split('\n').Where(l => l.StartsWith("telemetry_campus_starts", StringComparison.Ordinal))),
                cancellationToken: Ct);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    static async Task<string> GetAsync(ServiceProcess node, string path)
    {
        try
        {
            using var response = await node.Http.GetAsync(new Uri(path, UriKind.Relative), Ct);
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync(Ct) : $"{(int)response.StatusCode}";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return ex.Message;
        }
    }
}
