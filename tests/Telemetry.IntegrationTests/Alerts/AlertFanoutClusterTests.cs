using System.Collections.Concurrent;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.Cluster;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Tests.Polling;

namespace Telemetry.IntegrationTests.Alerts;

/// <summary>
/// Alert fan-out in a real two-node cluster (two service processes, ADO.NET clustering on a real PostgreSQL): alerts
/// raised and cleared by sensors whose devices talk to either node reach the MQTT alert subscribers of BOTH nodes once
/// per step, and each configured webhook once per step (not once per node); a subscriber arriving later on either node
/// sees exactly the active alerts retained.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class AlertFanoutClusterTests(PostgresFixture postgres)
{
    const int Sensors = 6;
    const string Rule = "too-warm";

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <param name="sensors">The numbers of the sensors <c>fo-{n}</c> the registry lists.</param>
    static string Registry(string run, IEnumerable<int> sensors) => $$"""
        campus: { id: {{run}}, name: Alert fan-out, timezone: UTC }
        kinds:
          thermo:
            interval: 60s
            metrics:
              temperature: { unit: "°C" }
            alerts:
              - { id: {{Rule}}, type: threshold, metric: temperature, above: 50, hysteresis: 1, severity: warning }
        buildings:
          - id: fb
            name: Fan-out building
            rooms:
              - id: r1
                type: lab
                capacity: 4
                sensors:
        {{string.Join("\n", sensors.Select(n => $"          - {{ id: fo-{n}, kind: thermo }}"))}}
        """;

    [Fact]
    public async Task Each_alert_step_reaches_every_nodes_subscribers_once_and_each_webhook_once()
    {
        var (database, connectionString) = await ClusterProcesses.NewClusterDatabaseAsync(postgres.Server, "fanout", Ct);
        var directory = Directory.CreateTempSubdirectory("telemetry-it-fanout-").FullName;
        try
        {
            // One registry for both nodes. The campus grain activates every registered sensor on its node at start, so the
            // sensor grains (where steps are raised) may all live on one node; the index may live on either. Either way
            // the other node's subscriber gets every step only through the fan-out.
            var registry = Path.Combine(directory, "campus.yaml");
            await File.WriteAllTextAsync(registry, Registry(database, Enumerable.Range(0, Sensors + 1)), Ct);
            await using var webhook = await WebhookReceiver.StartAsync(Ct);
            string[] settings =
            [
                $"--Campus:RegistryPath={registry}",
                "--Alerts:Webhooks:0:Name=fanout", $"--Alerts:Webhooks:0:Url={webhook.Url}", "--Alerts:Webhooks:0:MaxDelay=00:00:01",
            ];
            await using var a = await ServiceProcess.StartAsync([.. ClusterProcesses.NodeSettings(connectionString, database, "node-a"), .. settings], Ct);
            await using var b = await ServiceProcess.StartAsync([.. ClusterProcesses.NodeSettings(connectionString, database, "node-b"), .. settings], Ct);
            await ClusterProcesses.WaitForActiveNodesAsync(postgres.Server, database, 2, Ct);

            await using var watchA = await AlertWatcher.StartAsync(a, "watch-a");
            await using var watchB = await AlertWatcher.StartAsync(b, "watch-b");

            // Each sensor's device talks to one node, alternately; the feeders of both nodes place and call the grains.
            for (var n = 0; n < Sensors; n++)
            {
                var node = n % 2 == 0 ? a : b;
                using var device = await ConnectAsync(node, $"fo-{n}");
                await PublishAsync(device, $"fo-{n}", 61);
                await PublishAsync(device, $"fo-{n}", 20);
                await device.DisconnectAsync(cancellationToken: Ct);
            }

            var expected = Enumerable.Range(0, Sensors).SelectMany(n => new[] { $"fo-{n} raised", $"fo-{n} cleared" }).Order().ToList();
            foreach (var (name, read) in new (string, Func<List<string>>)[] { ("node a's subscriber", watchA.Steps), ("node b's subscriber", watchB.Steps), ("the webhook", () => WebhookSteps(webhook)) })
            {
                await Poll.UntilAsync(
                    $"{name} to receive the raised and cleared step of each of {Sensors} sensors",
                    () => Task.FromResult(read()),
                    steps => expected.All(steps.Contains),
                    within: TimeSpan.FromSeconds(60),
                    show: steps => string.Join(", ", steps),
                    cancellationToken: Ct);
            }

            // Longer than a renewal (5 s), so a step published again by a catch-up would show.
            await Poll.ThroughoutAsync(
                "every subscriber and the webhook to hold each step exactly once",
                () => Task.FromResult((A: watchA.Steps(), B: watchB.Steps(), Hook: WebhookSteps(webhook))),
                got => got.A.Order().SequenceEqual(expected) && got.B.Order().SequenceEqual(expected) && got.Hook.Order().SequenceEqual(expected),
                during: TimeSpan.FromSeconds(12),
                show: got => $"node a [{string.Join(", ", got.A)}]; node b [{string.Join(", ", got.B)}]; webhook [{string.Join(", ", got.Hook)}]",
                every: TimeSpan.FromMilliseconds(250),
                cancellationToken: Ct);

            // No node fell behind the log or failed a publish; how many steps came by catch-up rather than push is reported.
            foreach (var (node, name) in new[] { (a, "node a"), (b, "node b") })
            {
                var metrics = await node.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct);
                Assert.True(PrometheusText.Sum(metrics, "telemetry_alerts_fanout_gaps_total") == 0, $"{name} counted fan-out gaps: {metrics}");
                var raisedHere = Enumerable.Range(0, Sensors).Where(n => File.ReadAllText(node.Process.LogPath).Contains($"Alert fo-{n}/", StringComparison.Ordinal));
                TestContext.Current.TestOutputHelper?.WriteLine(
                    $"{name}: raised the alerts of [{string.Join(", ", raisedHere.Select(n => $"fo-{n}"))}]; catch-up steps {PrometheusText.Sum(metrics, "telemetry_alerts_fanout_catchup_steps_total")}, push failures {PrometheusText.Sum(metrics, "telemetry_alerts_fanout_push_failures_total")}");
            }

            // One alert stays active: subscribers arriving later, on either node, find it retained and nothing else.
            var active = $"fo-{Sensors}";
            using (var device = await ConnectAsync(b, active))
            {
                await PublishAsync(device, active, 62);
                await device.DisconnectAsync(cancellationToken: Ct);
            }

            foreach (var watcher in new[] { watchA, watchB })
            {
                await Poll.UntilAsync($"{watcher.Name} to receive {active}'s raised step", () => Task.FromResult(watcher.Steps()),
                    steps => steps.Contains($"{active} raised"), within: TimeSpan.FromSeconds(60), show: steps => string.Join(", ", steps), cancellationToken: Ct);
            }

            foreach (var (node, name) in new[] { (a, "late-a"), (b, "late-b") })
            {
                await using var late = await AlertWatcher.StartAsync(node, name);
                await Poll.UntilAsync($"{name} to receive the retained alert of {active}", () => Task.FromResult(late.Messages()),
                    messages => messages.Any(m => m.Retained && m.Step == $"{active} raised"), within: TimeSpan.FromSeconds(60),
                    show: messages => string.Join(", ", messages), cancellationToken: Ct);
                await Poll.ThroughoutAsync(
                    $"{name} to hold only the retained alert of {active} (the cleared alerts' retained messages are removed)",
                    () => Task.FromResult(late.Messages()),
                    messages => messages.Count == 1,
                    during: TimeSpan.FromSeconds(2),
                    show: messages => string.Join(", ", messages),
                    cancellationToken: Ct);
            }

            await Poll.UntilAsync($"the webhook to receive {active}'s raised step", () => Task.FromResult(WebhookSteps(webhook)),
                steps => steps.Contains($"{active} raised"), within: TimeSpan.FromSeconds(60), show: steps => string.Join(", ", steps), cancellationToken: Ct);
            Assert.Single(WebhookSteps(webhook), s => s == $"{active} raised");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    static List<string> WebhookSteps(WebhookReceiver webhook) =>
        [.. webhook.Calls.Select(c => $"{c.Body.GetProperty("sensor").GetString()} {c.Body.GetProperty("event").GetString()}")];

    static async Task<IMqttClient> ConnectAsync(ServiceProcess node, string clientId)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", node.MqttPort).WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30)).Build(), Ct);
        return client;
    }

    static async Task PublishAsync(IMqttClient device, string sensor, double temperature)
    {
        var result = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"campus/fb/r1/{sensor}/telemetry")
            .WithPayload($$"""{"temperature":{{temperature}}}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        Assert.True(result.IsSuccess, result.ReasonString);
    }

    /// <summary>An MQTT client subscribed to <c>campus/alerts/#</c> on one node, keeping each alert message (not the empty ones that remove a retained message).</summary>
    sealed class AlertWatcher : IAsyncDisposable
    {
        readonly IMqttClient client;
        readonly ConcurrentQueue<(string Step, bool Retained)> received = new();

        AlertWatcher(IMqttClient client, string name)
        {
            this.client = client;
            Name = name;
        }

        public string Name { get; }

        public static async Task<AlertWatcher> StartAsync(ServiceProcess node, string name)
        {
            var watcher = new AlertWatcher(await ConnectAsync(node, name), name);
            watcher.client.ApplicationMessageReceivedAsync += args =>
            {
                var payload = args.ApplicationMessage.ConvertPayloadToString();
                if (!string.IsNullOrEmpty(payload))
                {
                    var body = JsonDocument.Parse(payload).RootElement;
                    watcher.received.Enqueue(($"{body.GetProperty("sensor").GetString()} {body.GetProperty("event").GetString()}", args.ApplicationMessage.Retain));
                }

                return Task.CompletedTask;
            };
            var subscribed = await watcher.client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter("campus/alerts/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
            Assert.True(subscribed.Items.All(i => (int)i.ResultCode <= 2), $"{name}: subscription refused ({string.Join(", ", subscribed.Items.Select(i => i.ResultCode))})");
            return watcher;
        }

        public List<string> Steps() => [.. received.Select(r => r.Step)];

        public List<(string Step, bool Retained)> Messages() => [.. received];

        public async ValueTask DisposeAsync()
        {
            await client.DisconnectAsync();
            client.Dispose();
        }
    }
}
