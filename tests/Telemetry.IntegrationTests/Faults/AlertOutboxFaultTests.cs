using System.Net.Http.Json;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>
/// Durable alert delivery (docs/alerts.md, "Delivery") with the real service process and a real HTTP receiver: a step
/// the webhook's outbox persisted but could not deliver survives a SIGKILL and a graceful stop, and arrives after the
/// restart with the idempotency key it had before; refused attempts are retried until exactly the persisted
/// notifications were taken, each once.
/// </summary>
public sealed class AlertOutboxFaultTests
{
    const string Rule = "too-warm";

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static string Registry(string run) => $$"""
        campus: { id: {{run}}, name: Alert outbox, timezone: UTC }
        kinds:
          thermo:
            interval: 60s
            metrics:
              temperature: { unit: "°C" }
            alerts:
              - { id: {{Rule}}, type: threshold, metric: temperature, above: 50, hysteresis: 1, severity: warning }
        buildings:
          - id: ob
            name: Outbox building
            rooms:
              - id: r1
                type: lab
                capacity: 4
                sensors:
                  - { id: {{run}}-1, kind: thermo }
        """;

    [Fact]
    public async Task Killed_after_the_outbox_persisted_a_step_it_could_not_deliver_the_step_arrives_after_the_restart_with_the_same_key()
    {
        var directory = Directory.CreateTempSubdirectory("telemetry-it-outbox-kill-").FullName;
        try
        {
            var registry = Path.Combine(directory, "campus.yaml");
            await File.WriteAllTextAsync(registry, Registry("ok"), Ct);

            // Nobody listens on the webhook's port yet: every attempt fails with "connection refused".
            var port = FreePort.Get();
            await using var service = await ServiceProcess.StartAsync(
            [
                $"--Campus:RegistryPath={registry}",
                "--Alerts:Webhooks:0:Name=pager", $"--Alerts:Webhooks:0:Url={WebhookReceiver.UrlOn(port)}", "--Alerts:Webhooks:0:MaxDelay=00:00:01",
            ], Ct);

            await PublishAsync(service, "ok-1", 61);
            var key = RaisedKey(await ActiveAlertAsync(service, "ok-1"));

            // The step is in the outbox's persisted state (pending) and its delivery has failed at least once.
            await Poll.UntilAsync(
                "the pager outbox to hold the raised step after a failed attempt",
                () => OutboxAsync(service, "pager"),
                o => o.GetProperty("pending").GetInt32() == 1 && o.GetProperty("lastError").ValueKind == JsonValueKind.String && o.GetProperty("delivered").GetInt64() == 0,
                TimeSpan.FromSeconds(60),
                show: o => o.GetRawText(),
                cancellationToken: Ct);

            service.Process.Kill();
            await using var receiver = await WebhookReceiver.StartAsync(port, refuse: false, Ct);
            await service.Process.StartAsync(Ct);

            var calls = await Poll.UntilAsync(
                $"the webhook to receive {key} after the restart",
                () => Task.FromResult(receiver.Calls),
                c => c.Any(call => call.IdempotencyKey == key),
                TimeSpan.FromSeconds(60),
                show: c => $"keys [{string.Join(", ", c.Select(call => call.IdempotencyKey))}]",
                cancellationToken: Ct);
            var arrived = calls.First(c => c.IdempotencyKey == key);
            Assert.Equal((key, "raised", "raised"), (arrived.Body.GetProperty("key").GetString(), arrived.Body.GetProperty("kind").GetString(), arrived.Body.GetProperty("event").GetString()));
            Assert.All(calls, c => Assert.Equal(key, c.IdempotencyKey)); // the only step there was; a repeat of it is allowed

            var status = await Poll.UntilAsync(
                "the pager outbox to be empty and count the delivery",
                () => OutboxAsync(service, "pager"),
                o => o.GetProperty("pending").GetInt32() == 0 && o.GetProperty("delivered").GetInt64() >= 1,
                TimeSpan.FromSeconds(30),
                show: o => o.GetRawText(),
                cancellationToken: Ct);
            Report($"after the kill and restart: {calls.Count} POST(s) of {key}; outbox {status.GetRawText()}");
        }
        finally
        {
            TestServer.DeleteDirectory(directory);
        }
    }

    [Fact]
    public async Task Refused_notifications_survive_a_graceful_restart_and_are_delivered_exactly_as_persisted()
    {
        var directory = Directory.CreateTempSubdirectory("telemetry-it-outbox-refuse-").FullName;
        try
        {
            var registry = Path.Combine(directory, "campus.yaml");
            await File.WriteAllTextAsync(registry, Registry("or"), Ct);
            await using var receiver = await WebhookReceiver.StartAsync(FreePort.Get(), refuse: true, Ct);
            await using var service = await ServiceProcess.StartAsync(
            [
                $"--Campus:RegistryPath={registry}",
                "--Alerts:Webhooks:0:Name=technicians", $"--Alerts:Webhooks:0:Url={receiver.Url}", "--Alerts:Webhooks:0:MaxDelay=00:00:01",
            ], Ct);

            await PublishAsync(service, "or-1", 61);
            var alert = await ActiveAlertAsync(service, "or-1");
            var raised = RaisedKey(alert);

            // Refused (503) and retried with the same key.
            await Poll.UntilAsync(
                $"two refused attempts of {raised}",
                () => Task.FromResult(receiver.Attempts),
                a => a.Count(c => c.IdempotencyKey == raised && !c.Accepted) >= 2,
                TimeSpan.FromSeconds(60),
                show: a => $"attempts [{string.Join(", ", a.Select(c => $"{c.IdempotencyKey} accepted={c.Accepted}"))}]",
                cancellationToken: Ct);
            var metrics = await service.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct);
            Assert.True(PrometheusText.Sum(metrics, "telemetry_alerts_notifications_total", "outcome=\"retried\"") >= 1, "no retried notification counted");

            // A graceful stop while the step waits between attempts; the receiver takes POSTs again from now on.
            service.Process.Stop();
            receiver.Refuse = false;
            await service.Process.StartAsync(Ct);
            await Poll.UntilAsync(
                $"the webhook to accept {raised} after the restart",
                () => Task.FromResult(receiver.Calls),
                c => c.Any(call => call.IdempotencyKey == raised),
                TimeSpan.FromSeconds(60),
                show: c => $"accepted [{string.Join(", ", c.Select(call => call.IdempotencyKey))}]",
                cancellationToken: Ct);

            // The alert clears after the restart: its step goes the same way.
            await PublishAsync(service, "or-1", 20);
            var cleared = await Poll.UntilAsync(
                "the cleared step at the webhook",
                () => Task.FromResult(receiver.Calls),
                c => c.Any(call => call.Body.GetProperty("event").GetString() == "cleared"),
                TimeSpan.FromSeconds(60),
                show: c => $"accepted [{string.Join(", ", c.Select(call => call.IdempotencyKey))}]",
                cancellationToken: Ct);
            var clearedKey = cleared.Single(c => c.Body.GetProperty("event").GetString() == "cleared").IdempotencyKey;
            Assert.StartsWith($"{alert.GetProperty("id").GetString()}/cleared/", clearedKey, StringComparison.Ordinal);

            // Exactly the persisted notifications, each taken once (no kill here, so no repeat either), nothing pending.
            await Poll.ThroughoutAsync(
                "the webhook to have accepted the raised and the cleared step once each",
                () => Task.FromResult(receiver.Calls.Select(c => c.IdempotencyKey).ToList()),
                keys => keys.SequenceEqual([raised, clearedKey]),
                during: TimeSpan.FromSeconds(3),
                show: keys => string.Join(", ", keys),
                every: TimeSpan.FromMilliseconds(250),
                cancellationToken: Ct);
            var status = await OutboxAsync(service, "technicians");
            Assert.Equal((0, 0L), (status.GetProperty("pending").GetInt32(), status.GetProperty("givenUp").GetInt64()));
            Report($"{receiver.Attempts.Count} POSTs, {receiver.Calls.Count} accepted; outbox {status.GetRawText()}");
        }
        finally
        {
            TestServer.DeleteDirectory(directory);
        }
    }

    /// <summary>The key of the raised step of <paramref name="alert"/> (an entry of <c>/api/alerts</c>): <c>{id}/raised/{raisedAtMs}</c>.</summary>
    static string RaisedKey(JsonElement alert) =>
        $"{alert.GetProperty("id").GetString()}/raised/{alert.GetProperty("raisedAtMs").GetInt64()}";

    static async Task<JsonElement> ActiveAlertAsync(ServiceProcess service, string sensor)
    {
        var alerts = await Poll.UntilAsync(
            $"an active alert of {sensor} in /api/alerts",
            async () => await service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
            alerts => alerts.EnumerateArray().Any(a => a.GetProperty("sensor").GetString() == sensor),
            TimeSpan.FromSeconds(60),
            show: alerts => alerts.GetRawText(),
            cancellationToken: Ct);
        return alerts.EnumerateArray().First(a => a.GetProperty("sensor").GetString() == sensor);
    }

    static async Task<JsonElement> OutboxAsync(ServiceProcess service, string destination)
    {
        var all = await service.Http.GetFromJsonAsync<JsonElement>("api/alerts/outbox", Ct);
        return all.EnumerateArray().Single(o => o.GetProperty("destination").GetString() == destination);
    }

    static async Task PublishAsync(ServiceProcess service, string sensor, double temperature)
    {
        using var device = new MqttClientFactory().CreateMqttClient();
        await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", service.MqttPort).WithClientId(sensor)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30)).Build(), Ct);
        var result = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"campus/ob/r1/{sensor}/telemetry")
            .WithPayload($$"""{"temperature":{{temperature}}}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        Assert.True(result.IsSuccess, result.ReasonString);
        await device.DisconnectAsync(cancellationToken: Ct);
    }

    static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
