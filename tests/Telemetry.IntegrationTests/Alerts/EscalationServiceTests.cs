using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.Contracts;
using Telemetry.Grains.Alerts.Delivery;
using Telemetry.IntegrationTests.EndToEnd;

namespace Telemetry.IntegrationTests.Alerts;

/// <summary>
/// The real service with an escalation policy in seconds: a freezer fault raised over MQTT is re-notified to the
/// destination that took its raise and escalated once to the on-call destination, and acknowledging it stops both.
/// What the escalation hands to the destinations' outboxes is recorded at its seam (<see cref="IAlertOutboxes"/>);
/// the outboxes' delivery is tested on its own.
/// </summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class EscalationServiceTests(ServiceOnInfluxV1Fixture fixture) : IAsyncLifetime
{
    const string Registry = """
        campus: { id: escalation, name: Escalation campus, timezone: UTC }
        unregistered: refuse
        kinds:
          freezer:
            interval: 1h
            metrics:
              temperature: { unit: "°C" }
              fault: { unit: code }
            alerts:
              - { id: freezer-fault, type: fault-code, metric: fault, severity: critical }
        buildings:
          - id: esc
            rooms:
              - id: lab
                sensors:
                  - { id: esc-freezer1, kind: freezer }
                  - { id: esc-freezer2, kind: freezer }

        """;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    string directory = "";
    string registryPath = "";

    public async ValueTask InitializeAsync()
    {
        directory = Directory.CreateTempSubdirectory("telemetry-it-escalation-").FullName;
        registryPath = Path.Combine(directory, "campus.yaml");
        await File.WriteAllTextAsync(registryPath, Registry, Ct);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    Task<TelemetryServiceHost> StartAsync(RecordingOutboxes outboxes, params string[] more) => TelemetryServiceHost.StartAsync(
        ["--Influx:Api=V1", $"--Influx:Url={fixture.Influx.Url}", $"--Influx:Database={ServiceOnInfluxV1Fixture.Database}",
         $"--Campus:RegistryPath={registryPath}", .. more],
        Ct, Path.Combine(directory, "spool"),
        services =>
        {
            services.AddSingleton<IAlertDestination>(new TestDestination("technicians", wantsRaised: true));
            services.AddSingleton<IAlertDestination>(new TestDestination("on-call", wantsRaised: false));
            services.AddSingleton<IAlertOutboxes>(outboxes);
        });

    [Fact]
    public async Task An_unacknowledged_alert_is_re_notified_and_escalated_once_until_it_is_acknowledged()
    {
        var outboxes = new RecordingOutboxes();
        await using var service = await StartAsync(outboxes,
            "--Alerts:Escalation:Critical:RenotifyEvery=00:00:02",
            "--Alerts:Escalation:Critical:EscalateAfter=00:00:03",
            "--Alerts:Escalation:Critical:EscalateTo:0=on-call");
        using var freezer1 = await service.ConnectAsync("esc-freezer1", MqttProtocolVersion.V500, Ct);
        Assert.True((await PublishAsync(freezer1, "campus/esc/lab/esc-freezer1/telemetry", "{\"temperature\":-9.5,\"fault\":4}")).IsSuccess);
        var alert = await ActiveAlertAsync(service, "esc-freezer1");

        // Raised at r: re-notified at r+2 s, r+4 s, … to the destination that took the raise; escalated at r+3 s to
        // on-call, which from then on also gets the re-notifications.
        var seen = await Poll.UntilAsync(
            "a second re-notification to on-call after the escalation",
            () => Task.FromResult(outboxes.Of(alert.Id)),
            n => n.Count(x => x.Destination == "on-call" && x.Notification.Kind == AlertNotificationKind.Renotified) >= 2,
            within: TimeSpan.FromSeconds(60), show: Show, cancellationToken: Ct);

        var escalations = seen.Where(x => x.Notification.Kind == AlertNotificationKind.Escalated).ToList();
        var escalation = Assert.Single(escalations.DistinctBy(x => x.Notification.Key));
        Assert.Equal("on-call", escalation.Destination);
        Assert.Equal(alert.RaisedAtMs + 3000, escalation.Notification.AtMs);
        Assert.Equal(AlertNotification.KeyOf(alert, AlertNotificationKind.Escalated, alert.RaisedAtMs + 3000), escalation.Notification.Key);

        var toTechnicians = seen.Where(x => x.Destination == "technicians").Select(x => x.Notification).DistinctBy(n => n.Key).ToList();
        Assert.All(toTechnicians, n => Assert.Equal(AlertNotificationKind.Renotified, n.Kind));
        // The first is due 2 s after the raise; when the escalation's first round comes later than the next period
        // (it learns of new alerts within 5 s), one is sent for the newest period passed, still numbered 1.
        var first = toTechnicians[0];
        Assert.True(first.AtMs > alert.RaisedAtMs && (first.AtMs - alert.RaisedAtMs) % 2000 == 0, $"first re-notification due at raise + {first.AtMs - alert.RaisedAtMs} ms");
        Assert.Equal(1, first.Repeat);
        Assert.Equal(AlertNotification.KeyOf(alert, AlertNotificationKind.Renotified, first.AtMs), first.Key);
        // Each further one is one period (or, after a late round, several) later, numbered on.
        Assert.All(toTechnicians.Zip(toTechnicians.Skip(1)), pair =>
        {
            Assert.Equal(pair.First.Repeat + 1, pair.Second.Repeat);
            Assert.Equal(0, (pair.Second.AtMs - pair.First.AtMs) % 2000);
            Assert.True(pair.Second.AtMs > pair.First.AtMs);
        });
        // on-call gets the re-notifications due after its escalation only.
        Assert.All(seen.Where(x => x.Destination == "on-call" && x.Notification.Kind == AlertNotificationKind.Renotified),
            x => Assert.True(x.Notification.AtMs > escalation.Notification.AtMs, $"re-notification at {x.Notification.AtMs} before the escalation"));

        // Acknowledged: nothing due after it is sent. A second alert raised after the acknowledgement shows a round
        // has run since (its own re-notification arrives, due 2 s after its raise), and that round read the
        // acknowledgement first; had it not, the first alert's re-notification of the same 2 s would be there too.
        using var ack = await service.Http.PostAsJsonAsync(new Uri($"api/alerts/{alert.Id}/ack", UriKind.Relative), new { by = "kim", note = "on my way" }, Ct);
        Assert.True(ack.IsSuccessStatusCode, $"acknowledge answered {(int)ack.StatusCode}");
        using var freezer2 = await service.ConnectAsync("esc-freezer2", MqttProtocolVersion.V500, Ct);
        Assert.True((await PublishAsync(freezer2, "campus/esc/lab/esc-freezer2/telemetry", "{\"temperature\":-9.5,\"fault\":5}")).IsSuccess);
        var second = await ActiveAlertAsync(service, "esc-freezer2");
        await Poll.UntilAsync(
            "the re-notification of the alert raised after the acknowledgement",
            () => Task.FromResult(outboxes.Of(second.Id)),
            n => n.Any(x => x.Notification.Kind == AlertNotificationKind.Renotified),
            within: TimeSpan.FromSeconds(60), show: Show, cancellationToken: Ct);

        var late = outboxes.Of(alert.Id).Where(x => x.Notification.AtMs >= second.RaisedAtMs).ToList();
        Assert.True(late.Count == 0, "sent after the acknowledgement: " + Show(late));
    }

    [Fact]
    public async Task A_restart_continues_the_watch_where_it_was_and_does_not_escalate_again()
    {
        string[] policy =
        [
            "--Alerts:Escalation:Critical:RenotifyEvery=00:00:02",
            "--Alerts:Escalation:Critical:EscalateAfter=00:00:01",
            "--Alerts:Escalation:Critical:EscalateTo:0=on-call",
        ];
        var before = new RecordingOutboxes();
        AlertInfo alert;
        await using (var service = await StartAsync(before, policy))
        {
            using var freezer1 = await service.ConnectAsync("esc-freezer1", MqttProtocolVersion.V500, Ct);
            Assert.True((await PublishAsync(freezer1, "campus/esc/lab/esc-freezer1/telemetry", "{\"temperature\":-9.5,\"fault\":4}")).IsSuccess);
            alert = await ActiveAlertAsync(service, "esc-freezer1");
            await Poll.UntilAsync(
                "the escalation and a re-notification before the restart",
                () => Task.FromResult(before.Of(alert.Id)),
                n => n.Any(x => x.Notification.Kind == AlertNotificationKind.Escalated) && n.Any(x => x.Notification.Kind == AlertNotificationKind.Renotified),
                within: TimeSpan.FromSeconds(60), show: Show, cancellationToken: Ct);
        }

        // Stopped and started on the same state folder: the watch (repeats sent, escalated) was persisted.
        var after = new RecordingOutboxes();
        await using (var restarted = await StartAsync(after, policy))
        {
            // Anything handed over while stopping counts as before; a round cut off between the hand-over and its
            // persist hands the same notifications over again, under the same keys (allowed duplicates).
            var keysBefore = before.Of(alert.Id).Select(x => x.Notification.Key).ToHashSet(StringComparer.Ordinal);
            var repeatsBefore = before.Of(alert.Id).Max(x => x.Notification.Repeat);
            var seen = await Poll.UntilAsync(
                "a new re-notification after the restart",
                () => Task.FromResult(after.Of(alert.Id)),
                n => n.Any(x => x.Notification.Kind == AlertNotificationKind.Renotified && !keysBefore.Contains(x.Notification.Key)),
                within: TimeSpan.FromSeconds(60), show: Show, cancellationToken: Ct);

            var fresh = seen.Where(x => !keysBefore.Contains(x.Notification.Key)).Select(x => x.Notification).ToList();
            Assert.All(fresh, n => Assert.Equal(AlertNotificationKind.Renotified, n.Kind)); // no second escalation
            Assert.Equal(repeatsBefore + 1, fresh.Min(n => n.Repeat));
        }
    }

    [Fact]
    public async Task An_escalation_to_a_destination_that_is_not_configured_stops_the_start_and_names_the_configured_ones()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new RecordingOutboxes(),
            "--Alerts:Escalation:Warning:EscalateAfter=00:30:00",
            "--Alerts:Escalation:Warning:EscalateTo:0=pager"));

        Assert.Contains("Alerts:Escalation:Warning:EscalateTo names \"pager\", which is not a configured alert destination (configured: on-call, technicians)", error.Message, StringComparison.Ordinal);
    }

    static async Task<AlertInfo> ActiveAlertAsync(TelemetryServiceHost service, string sensor)
    {
        var alerts = await Poll.UntilAsync(
            $"the freezer-fault alert of {sensor}",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
            found => found.EnumerateArray().Any(a => a.GetProperty("sensor").GetString() == sensor), show: a => a.ToString(), cancellationToken: Ct);
        var id = alerts.EnumerateArray().Single(a => a.GetProperty("sensor").GetString() == sensor).GetProperty("id").GetString()!;
        return (await service.Services.GetRequiredService<IGrainFactory>().GetGrain<IAlertIndexGrain>("campus").Find(id))!;
    }

    static string Show(IEnumerable<(string Destination, AlertNotification Notification)> notifications) =>
        string.Join("; ", notifications.Select(x => $"{x.Destination} {x.Notification.Key} repeat {x.Notification.Repeat}"));

    static Task<MqttClientPublishResult> PublishAsync(IMqttClient device, string topic, string payload) =>
        device.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), Ct);

    /// <summary>Records what the escalation enqueues, in order, per destination (the outboxes' side of the seam).</summary>
    sealed class RecordingOutboxes : IAlertOutboxes
    {
        readonly ConcurrentQueue<(string Destination, AlertNotification Notification)> enqueued = new();

        public Task EnqueueAsync(string destination, IReadOnlyList<AlertNotification> notifications)
        {
            foreach (var notification in notifications)
            {
                enqueued.Enqueue((destination, notification));
            }

            return Task.CompletedTask;
        }

        public List<(string Destination, AlertNotification Notification)> Of(string alertId) =>
            [.. enqueued.Where(x => x.Notification.Alert.Id == alertId)];
    }

    /// <summary>A configured destination as the escalation sees it: a name and whether it takes raises.</summary>
    sealed class TestDestination(string name, bool wantsRaised) : IAlertDestination
    {
        public string Name => name;

        public TimeSpan? RefreshInterval => null;

        public bool Wants(AlertInfo alert, AlertNotificationKind kind) => wantsRaised;

        public Task SendAsync(AlertNotification notification, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task RefreshAsync(IReadOnlyList<AlertInfo> active, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
