using System.Collections.Concurrent;
using Telemetry.Contracts;
using Telemetry.Grains.Alerts;
using Telemetry.Grains.Alerts.Delivery;
using Telemetry.Tests.Polling;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>
/// The outbox grain on a real silo with in-process destinations (the HTTP side is tested with a real receiver in
/// <c>Faults.AlertOutboxFaultTests</c>): what it does when the index's log no longer holds its steps, how it retries
/// and gives up, and that it keeps one entry per key. Each destination wants only the alerts of its own sensors.
/// </summary>
[Collection(GrainClusterFixture.CollectionName)]
public sealed class AlertOutboxGrainTests(GrainClusterFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static AlertInfo Alert(string sensor, long atMs) =>
        new($"{sensor}/hot/{atMs}", "b", "r", sensor, "hot", AlertRuleType.Threshold, AlertSeverity.Warning, AlertState.Active, atMs, 60, "hot", null, null, null, null, null, false);

    [Fact]
    public async Task An_outbox_behind_the_index_log_sends_the_current_state_of_its_active_alerts_with_their_original_keys()
    {
        var index = fixture.Grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key);
        var kept = Alert("gap-kept", 1000);
        var acknowledged = kept with { State = AlertState.Acknowledged, AcknowledgedAtMs = 2000, AcknowledgedBy = "ann" };
        await index.Record(new AlertStep(AlertEvent.Raised, 1000, kept));
        await index.Record(new AlertStep(AlertEvent.Acknowledged, 2000, acknowledged));

        // More steps than the log keeps (256), all finished: the outbox created after them cannot read them one by one.
        for (var n = 0; n < 140; n++)
        {
            var noise = Alert("gap-noise", 10_000 + n);
            await index.Record(new AlertStep(AlertEvent.Raised, noise.RaisedAtMs, noise));
            await index.Record(new AlertStep(AlertEvent.Cleared, noise.RaisedAtMs + 1, noise with { State = AlertState.Cleared, ClearedAtMs = noise.RaisedAtMs + 1, ClearedBy = "auto" }));
        }

        var destination = fixture.Destinations.Add(new RecordingDestination("gap", "gap-"));
        await fixture.Grains.GetGrain<IAlertOutboxGrain>("gap").Wake();

        var sent = await Poll.UntilAsync("the gap outbox to send the kept alert's current state", () => Task.FromResult(destination.Sent.ToList()),
            s => s.Count >= 1, TimeSpan.FromSeconds(30), show: s => string.Join(", ", s.Select(n => n.Key)), cancellationToken: Ct);
        var only = Assert.Single(sent);
        Assert.Equal(("gap-kept/hot/1000/acknowledged/2000", AlertNotificationKind.Acknowledged), (only.Key, only.Kind));
        var status = await fixture.Grains.GetGrain<IAlertOutboxGrain>("gap").GetStatus();
        Assert.Equal((await index.GetSteps(long.MaxValue)).LastSeq, status.Cursor);

        // After the gap it reads step by step again.
        var cleared = acknowledged with { State = AlertState.Cleared, ClearedAtMs = 3000, ClearedBy = "auto" };
        await index.Record(new AlertStep(AlertEvent.Cleared, 3000, cleared));
        await Poll.UntilAsync("the clear at the gap destination", () => Task.FromResult(destination.Sent.ToList()),
            s => s.Any(n => n.Key == "gap-kept/hot/1000/cleared/3000"), TimeSpan.FromSeconds(30), show: s => string.Join(", ", s.Select(n => n.Key)), cancellationToken: Ct);
        Assert.Equal(2, destination.Sent.Count);
    }

    [Fact]
    public async Task Failed_attempts_are_retried_until_delivered_and_given_up_after_max_attempts_each_key_kept_once()
    {
        var flaky = fixture.Destinations.Add(new RecordingDestination("flaky", "flaky-") { FailFirst = 2 });
        var outbox = fixture.Grains.GetGrain<IAlertOutboxGrain>("flaky");
        var alert = Alert("flaky-1", 5000);
        var notification = new AlertNotification(AlertNotification.KeyOf(alert, AlertNotificationKind.Renotified, 6000), AlertNotificationKind.Renotified, 6000, alert, 1);
        await outbox.Enqueue([notification, notification]);
        await outbox.Enqueue([notification]);

        var status = await Poll.UntilAsync("the flaky outbox to deliver after two failures", outbox.GetStatus,
            s => s.Delivered == 1, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        Assert.Equal((0, 0L), (status.Pending, status.GivenUp));
        Assert.Equal([notification.Key, notification.Key, notification.Key], flaky.Attempted.Select(n => n.Key));
        Assert.Equal(notification, Assert.Single(flaky.Sent));

        var hopeless = fixture.Destinations.Add(new RecordingDestination("hopeless", "hopeless-")
        {
            FailFirst = int.MaxValue,
            Delivery = AlertDeliveryPolicy.Default with { MaxAttempts = 2, MaxDelay = TimeSpan.FromMilliseconds(100) },
        });
        var other = Alert("hopeless-1", 7000);
        var lost = new AlertNotification(AlertNotification.KeyOf(other, AlertNotificationKind.Escalated, 8000), AlertNotificationKind.Escalated, 8000, other, 0);
        var next = new AlertNotification(AlertNotification.KeyOf(other, AlertNotificationKind.Escalated, 9000), AlertNotificationKind.Escalated, 9000, other, 0);
        var hopelessOutbox = fixture.Grains.GetGrain<IAlertOutboxGrain>("hopeless");
        await hopelessOutbox.Enqueue([lost, next]);
        var given = await Poll.UntilAsync("the hopeless outbox to give both up", hopelessOutbox.GetStatus,
            s => s.GivenUp == 2, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        Assert.Equal((0, 0L), (given.Pending, given.Delivered));
        Assert.Equal([lost.Key, lost.Key, next.Key, next.Key], hopeless.Attempted.Select(n => n.Key));
        Assert.Contains("refused", given.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_state_driven_destination_is_given_the_active_alerts_it_wants_that_no_quiet_window_covers()
    {
        var index = fixture.Grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await fixture.Grains.GetGrain<IQuietWindowGrain>(QuietWindowGrain.Key).Add(new QuietWindow(
            "state-quiet", null, "state-quiet", null, now + 3_600_000, null, AlertSeverity.Critical, "maintenance", "test", now));
        var loud = Alert("state-loud", 1000);
        var quiet = Alert("state-quiet", 1000);
        await index.Record(new AlertStep(AlertEvent.Raised, 1000, loud));
        await index.Record(new AlertStep(AlertEvent.Raised, 1000, quiet));

        var state = fixture.Destinations.Add(new RecordingDestination("state", "state-") { RefreshEvery = TimeSpan.FromMilliseconds(200) });
        await fixture.Grains.GetGrain<IAlertOutboxGrain>("state").Wake();
        var refreshes = await Poll.UntilAsync("two refreshes of the state destination", () => Task.FromResult(state.Refreshes.ToList()),
            r => r.Count >= 2, TimeSpan.FromSeconds(30), show: r => string.Join(" | ", r.Select(set => string.Join(", ", set))), cancellationToken: Ct);
        Assert.All(refreshes, set => Assert.Equal([loud.Id], set));

        // The steps themselves: the loud raise sent, the quiet one suppressed.
        var status = await Poll.UntilAsync("the state outbox to decide both raises", fixture.Grains.GetGrain<IAlertOutboxGrain>("state").GetStatus,
            s => s.Delivered + s.Suppressed == 2, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        Assert.Equal((1L, 1L, 1), (status.Delivered, status.Suppressed, status.Watched));
        Assert.Equal(AlertNotification.KeyOf(loud, AlertNotificationKind.Raised, 1000), Assert.Single(state.Sent).Key);

        await fixture.Grains.GetGrain<IQuietWindowGrain>(QuietWindowGrain.Key).Remove("state-quiet");
        foreach (var alert in new[] { loud, quiet })
        {
            await index.Record(new AlertStep(AlertEvent.Cleared, 2000, alert with { State = AlertState.Cleared, ClearedAtMs = 2000, ClearedBy = "auto" }));
        }
    }
}

/// <summary>The destinations the grain test silo knows; tests add theirs (names must be new).</summary>
public sealed class TestAlertDestinations : IAlertDestinations
{
    readonly ConcurrentDictionary<string, IAlertDestination> destinations = new(StringComparer.Ordinal);

    public IReadOnlyList<IAlertDestination> All => [.. destinations.Values];

    public IAlertDestination? Find(string name) => destinations.GetValueOrDefault(name);

    public T Add<T>(T destination) where T : IAlertDestination
    {
        ArgumentNullException.ThrowIfNull(destination);
        Assert.True(destinations.TryAdd(destination.Name, destination), $"destination {destination.Name} added twice");
        return destination;
    }
}

/// <summary>A destination in the test process: wants the alerts of sensors starting with a prefix, records every attempt, fails the first <see cref="FailFirst"/>.</summary>
public sealed class RecordingDestination(string name, string sensorPrefix) : IAlertDestination
{
    readonly ConcurrentQueue<AlertNotification> attempted = new();
    readonly ConcurrentQueue<AlertNotification> sent = new();
    readonly ConcurrentQueue<IReadOnlyList<string>> refreshes = new();

    public string Name => name;

    public int FailFirst { get; init; }

    public AlertDeliveryPolicy Delivery { get; init; } = AlertDeliveryPolicy.Default with { MaxDelay = TimeSpan.FromMilliseconds(200) };

    public TimeSpan? RefreshEvery { get; init; }

    public TimeSpan? RefreshInterval => RefreshEvery;

    /// <summary>The ids of the alerts given at each refresh.</summary>
    public IReadOnlyCollection<IReadOnlyList<string>> Refreshes => refreshes;

    public IReadOnlyCollection<AlertNotification> Attempted => attempted;

    public IReadOnlyCollection<AlertNotification> Sent => sent;

    public bool Wants(AlertInfo alert, AlertNotificationKind kind) => alert.Sensor.StartsWith(sensorPrefix, StringComparison.Ordinal);

    public Task SendAsync(AlertNotification notification, CancellationToken cancellationToken)
    {
        attempted.Enqueue(notification);
        if (attempted.Count <= FailFirst)
        {
            throw new HttpRequestException($"{name} refused attempt {attempted.Count}");
        }

        sent.Enqueue(notification);
        return Task.CompletedTask;
    }

    public Task RefreshAsync(IReadOnlyList<AlertInfo> active, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(active);
        refreshes.Enqueue([.. active.Select(a => a.Id).Order(StringComparer.Ordinal)]);
        return Task.CompletedTask;
    }
}
