using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Grains.Alerts.Delivery;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Service.Alerts;

namespace Telemetry.IntegrationTests.Alerts;

/// <summary>A real Alertmanager on the repository's example route, its two receivers (facilities, on-call) test webhooks.</summary>
public sealed class AlertmanagerRig : IAsyncLifetime
{
    public WebhookReceiver Facilities { get; private set; } = null!;

    public WebhookReceiver Oncall { get; private set; } = null!;

    public AlertmanagerServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        Facilities = await WebhookReceiver.StartAsync(ct);
        Oncall = await WebhookReceiver.StartAsync(ct);
        Server = await AlertmanagerServer.StartAsync(
            new Dictionary<string, string> { ["facilities"] = Facilities.Url, ["oncall-technician"] = Oncall.Url }, cancellationToken: ct);
    }

    public async ValueTask DisposeAsync()
    {
        Server?.Dispose();
        if (Facilities is not null)
        {
            await Facilities.DisposeAsync();
        }

        if (Oncall is not null)
        {
            await Oncall.DisposeAsync();
        }
    }
}

/// <summary>
/// The Alertmanager destination against a real Alertmanager 0.25 (Debian's prometheus-alertmanager) running the example
/// route of deploy/alertmanager/alertmanager.yml: what it posts, what Alertmanager makes of it, and what the route's
/// receivers get. The destination is built by the service's own registration (Alerts:Alertmanager).
/// </summary>
public sealed class AlertmanagerDestinationTests(AlertmanagerRig rig) : IClassFixture<AlertmanagerRig>
{
    const string Campus = "north";
    const string ConsoleBase = "https://telemetry.campus.example/";
    static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_raised_alert_is_active_in_Alertmanager_with_exactly_its_labels_and_annotations()
    {
        var destination = Destination(rig.Server.Url);
        var alert = NewAlert(AlertSeverity.Critical);
        // Whole milliseconds: the posted times are (Alertmanager keeps them to the millisecond).
        var before = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        await destination.SendAsync(Notification(alert, AlertNotificationKind.Raised), Ct);

        var held = Assert.Single(await ActiveAsync(alert, 1));
        Assert.Equal(ExpectedLabels(alert), Strings(held.GetProperty("labels")));
        var console = $"{ConsoleBase}console/alerts/{alert.Sensor}/too-warm/{alert.RaisedAtMs}"; // as the API's /api/alerts/{sensor}/{rule}/{raisedAt}
        Assert.Equal(
            new Dictionary<string, string> { ["summary"] = alert.Message, ["value"] = "-12.5", ["console_url"] = console },
            Strings(held.GetProperty("annotations")));
        Assert.Equal(console, held.GetProperty("generatorURL").GetString());
        Assert.Equal(alert.RaisedAtMs, Ms(held, "startsAt"));

        // Ends four refresh intervals (60 s by default) after the post unless posted again.
        var endsAt = DateTimeOffset.FromUnixTimeMilliseconds(Ms(held, "endsAt"));
        Assert.InRange(endsAt, before + TimeSpan.FromMinutes(4), DateTimeOffset.UtcNow + TimeSpan.FromMinutes(4));
    }

    [Fact]
    public async Task The_example_route_sends_critical_alerts_to_the_on_call_technician_and_facilities_and_warnings_to_facilities_only()
    {
        var destination = Destination(rig.Server.Url);
        var critical = NewAlert(AlertSeverity.Critical);
        var warning = NewAlert(AlertSeverity.Warning, building: critical.Building, sensor: "s-" + Guid.NewGuid().ToString("N")[..8]);

        await destination.SendAsync(Notification(critical, AlertNotificationKind.Raised), Ct);
        await destination.SendAsync(Notification(warning, AlertNotificationKind.Raised), Ct);

        var paged = await ReceivedAsync(rig.Oncall, critical, "firing");
        Assert.Equal("oncall-technician", paged.Receiver);
        Assert.Equal(ExpectedLabels(critical), Strings(paged.Alert.GetProperty("labels")));
        Assert.Equal("facilities", (await ReceivedAsync(rig.Facilities, critical, "firing")).Receiver);
        var mailed = await ReceivedAsync(rig.Facilities, warning, "firing");
        Assert.Equal(ExpectedLabels(warning), Strings(mailed.Alert.GetProperty("labels")));

        // Which receivers Alertmanager routes each alert to (no waiting for the absence of a page).
        Assert.Equal(["facilities", "oncall-technician"], Receivers(Assert.Single(await ActiveAsync(critical, 1))));
        Assert.Equal(["facilities"], Receivers(Assert.Single(await ActiveAsync(warning, 1))));
    }

    [Fact]
    public async Task Clearing_resolves_the_alert_at_both_receivers_and_removes_it_from_the_active_alerts()
    {
        var destination = Destination(rig.Server.Url);
        var alert = NewAlert(AlertSeverity.Critical);
        await destination.SendAsync(Notification(alert, AlertNotificationKind.Raised), Ct);
        await ReceivedAsync(rig.Oncall, alert, "firing");

        var clearedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var cleared = alert with { State = AlertState.Cleared, ClearedAtMs = clearedAtMs, ClearedBy = "auto" };
        await destination.SendAsync(Notification(cleared, AlertNotificationKind.Cleared, clearedAtMs), Ct);

        await Poll.UntilAsync($"{alert.Id} to leave Alertmanager's active alerts", () => ActiveAsync(alert), a => a.Count == 0, Within, cancellationToken: Ct);
        foreach (var receiver in new[] { rig.Oncall, rig.Facilities })
        {
            var resolved = await ReceivedAsync(receiver, alert, "resolved");
            Assert.Equal(clearedAtMs, Ms(resolved.Alert, "endsAt"));
            Assert.Equal(ExpectedLabels(alert), Strings(resolved.Alert.GetProperty("labels")));
        }
    }

    [Fact]
    public async Task Refreshing_keeps_an_alert_firing_past_its_endsAt_while_an_alert_not_refreshed_resolves_by_itself()
    {
        var destination = Destination(rig.Server.Url, refreshInterval: TimeSpan.FromSeconds(2)); // endsAt = now + 8 s
        var kept = NewAlert(AlertSeverity.Warning);
        var dropped = NewAlert(AlertSeverity.Warning, building: kept.Building);
        await destination.SendAsync(Notification(kept, AlertNotificationKind.Raised), Ct);
        var firstEndsAt = Ms(Assert.Single(await ActiveAsync(kept, 1)), "endsAt");
        await destination.SendAsync(Notification(dropped, AlertNotificationKind.Raised), Ct);

        // The outbox's refresh, here once a second (a margin for a busy machine): only the kept alert is still in the active set.
        await Poll.UntilAsync(
            $"{dropped.Id}, not refreshed, to resolve at its endsAt while {kept.Id} is refreshed",
            async () =>
            {
                await destination.RefreshAsync([kept], Ct);
                return await ActiveAsync(dropped);
            },
            a => a.Count == 0,
            Within,
            every: TimeSpan.FromSeconds(1),
            cancellationToken: Ct);

        Assert.True(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() > firstEndsAt, "the kept alert's first endsAt has passed");
        var still = Assert.Single(await ActiveAsync(kept));
        Assert.Equal("active", still.GetProperty("status").GetProperty("state").GetString());
        Assert.True(Ms(still, "endsAt") > firstEndsAt, $"endsAt moved on from {firstEndsAt}: {still}");
        Assert.Equal("resolved", (await ReceivedAsync(rig.Facilities, dropped, "resolved")).Alert.GetProperty("status").GetString());
    }

    [Fact]
    public async Task After_an_Alertmanager_restart_the_refresh_brings_the_active_alerts_back()
    {
        var destination = Destination(rig.Server.Url);
        var alert = NewAlert(AlertSeverity.Critical);
        await destination.SendAsync(Notification(alert, AlertNotificationKind.Raised), Ct);
        var fingerprint = Assert.Single(await ActiveAsync(alert, 1)).GetProperty("fingerprint").GetString();

        await rig.Server.Process.RestartAsync(Ct);
        Assert.Empty(await ActiveAsync(alert)); // Alertmanager keeps alerts in memory only

        await destination.RefreshAsync([alert], Ct);
        var back = Assert.Single(await ActiveAsync(alert, 1));
        Assert.Equal(fingerprint, back.GetProperty("fingerprint").GetString());
        Assert.Equal(alert.RaisedAtMs, Ms(back, "startsAt"));
    }

    [Fact]
    public async Task An_acknowledgement_adds_its_annotations_and_the_alert_stays_firing_as_the_same_alert()
    {
        var destination = Destination(rig.Server.Url);
        var alert = NewAlert(AlertSeverity.Critical);
        await destination.SendAsync(Notification(alert, AlertNotificationKind.Raised), Ct);
        var fingerprint = Assert.Single(await ActiveAsync(alert, 1)).GetProperty("fingerprint").GetString();

        var acknowledgedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var acknowledged = alert with
        {
            State = AlertState.Acknowledged, AcknowledgedAtMs = acknowledgedAtMs, AcknowledgedBy = "tech:ana", AcknowledgeNote = "door was open; closed it",
        };
        await destination.SendAsync(Notification(acknowledged, AlertNotificationKind.Acknowledged, acknowledgedAtMs), Ct);

        var held = Assert.Single(await ActiveAsync(alert, 1));
        Assert.Equal(fingerprint, held.GetProperty("fingerprint").GetString());
        var annotations = Strings(held.GetProperty("annotations"));
        Assert.Equal("tech:ana", annotations["acknowledged_by"]);
        Assert.Equal("door was open; closed it", annotations["acknowledge_note"]);
        Assert.Equal(alert.Message, annotations["summary"]);
        Assert.Equal(ExpectedLabels(alert), Strings(held.GetProperty("labels")));
    }

    [Fact]
    public async Task A_large_active_set_is_posted_in_chunks_and_all_of_it_arrives()
    {
        var destination = Destination(rig.Server.Url);
        var building = "big-" + Guid.NewGuid().ToString("N")[..8];
        var active = Enumerable.Range(0, (2 * AlertmanagerDestination.MaxAlertsPerPost) + 1)
            .Select(i => NewAlert(AlertSeverity.Info, building: building, sensor: $"s{i:D4}"))
            .ToList();

        await destination.RefreshAsync(active, Ct);

        var held = await rig.Server.AlertsAsync($"building=\"{building}\"", Ct);
        Assert.Equal(active.Select(a => a.Id).Order(StringComparer.Ordinal), held.Select(h => Strings(h.GetProperty("labels"))["alert_id"]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_refusing_unreachable_or_unresponsive_Alertmanager_makes_SendAsync_throw()
    {
        var notification = Notification(NewAlert(AlertSeverity.Critical), AlertNotificationKind.Raised);

        var refusing = Destination(new Uri(rig.Server.Url, "no-such-prefix/"));
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => refusing.SendAsync(notification, Ct));
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Contains("Alertmanager answered 404", refused.Message, StringComparison.Ordinal);

        var unreachable = Destination(new Uri($"http://127.0.0.1:{FreePort.Get()}/"));
        await Assert.ThrowsAsync<HttpRequestException>(() => unreachable.SendAsync(notification, Ct));

        Assert.Empty(await ActiveAsync(notification.Alert));

        // Frozen (SIGSTOP): connections are accepted and nothing answers; the POST gives up at Timeout.
        var impatient = Destination(rig.Server.Url, timeout: TimeSpan.FromSeconds(1));
        rig.Server.Process.Freeze();
        try
        {
            var timedOut = await Assert.ThrowsAsync<TimeoutException>(() => impatient.SendAsync(notification, Ct));
            Assert.Contains("did not answer", timedOut.Message, StringComparison.Ordinal);
        }
        finally
        {
            rig.Server.Process.Thaw();
        }
    }

    [Fact]
    public async Task Basic_authentication_is_sent_when_configured_and_a_refusal_names_the_status()
    {
        await using var guarded = await AlertmanagerServer.StartAsync(
            new Dictionary<string, string> { ["facilities"] = rig.Facilities.Url, ["oncall-technician"] = rig.Oncall.Url }, basicAuth: true, cancellationToken: Ct);
        var notification = Notification(NewAlert(AlertSeverity.Warning), AlertNotificationKind.Raised);

        var anonymous = Destination(guarded.Url);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.SendAsync(notification, Ct));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        var wrong = Destination(guarded.Url, settings: new() { ["Alerts:Alertmanager:Username"] = AlertmanagerServer.TestUser, ["Alerts:Alertmanager:Password"] = "not-it" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await Assert.ThrowsAsync<HttpRequestException>(() => wrong.SendAsync(notification, Ct))).StatusCode);

        var authenticated = Destination(
            guarded.Url, settings: new() { ["Alerts:Alertmanager:Username"] = AlertmanagerServer.TestUser, ["Alerts:Alertmanager:Password"] = AlertmanagerServer.TestPassword });
        await authenticated.SendAsync(notification, Ct);
        var held = Assert.Single(await guarded.AlertsAsync($"alert_id=\"{notification.Alert.Id}\"", Ct));
        Assert.Equal(ExpectedLabels(notification.Alert), Strings(held.GetProperty("labels")));
    }

    [Fact]
    public void The_destination_is_registered_only_when_its_Url_is_set()
    {
        Assert.Empty(Services(new Dictionary<string, string?>()).GetServices<IAlertDestination>());
        Assert.Empty(Services(new Dictionary<string, string?> { ["Alerts:Alertmanager:Url"] = " " }).GetServices<IAlertDestination>());

        var destination = Assert.Single(Services(new Dictionary<string, string?> { ["Alerts:Alertmanager:Url"] = "http://127.0.0.1:9093/am" }).GetServices<IAlertDestination>());
        Assert.Equal("alertmanager", destination.Name);
        Assert.Equal(TimeSpan.FromSeconds(60), destination.RefreshInterval);
        Assert.Equal("http://127.0.0.1:9093/am/api/v2/alerts", ((AlertmanagerDestination)destination).AlertsUrl.AbsoluteUri);

        var invalid = Services(new Dictionary<string, string?> { ["Alerts:Alertmanager:Url"] = "alertmanager:9093", ["Alerts:Alertmanager:RefreshInterval"] = "00:00:00" });
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => invalid.GetServices<IAlertDestination>().ToList());
        Assert.Contains("Alerts:Alertmanager:Url must be an absolute http or https URL", error.Message, StringComparison.Ordinal);
        Assert.Contains("Alerts:Alertmanager:RefreshInterval must be at least 1 s", error.Message, StringComparison.Ordinal);
    }

    static IAlertDestination Destination(Uri url, TimeSpan? refreshInterval = null, TimeSpan? timeout = null, Dictionary<string, string?>? settings = null)
    {
        settings ??= [];
        settings["Alerts:Alertmanager:Url"] = url.AbsoluteUri;
        settings["Alerts:ConsoleUrl"] = ConsoleBase;
        if (refreshInterval is { } interval)
        {
            settings["Alerts:Alertmanager:RefreshInterval"] = interval.ToString("c", CultureInfo.InvariantCulture);
        }

        if (timeout is { } t)
        {
            settings["Alerts:Alertmanager:Timeout"] = t.ToString("c", CultureInfo.InvariantCulture);
        }

        return Services(settings).GetServices<IAlertDestination>().Single();
    }

    /// <summary>The service's registration of the Alertmanager destination, on a configuration and campus of the test's.</summary>
    static ServiceProvider Services(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ICampusRegistrySource>(new FixedCampusRegistrySource(new CampusRegistry(
            new CampusInfo(Campus, "North campus", "UTC"), UnregisteredPolicy.Accept, Telemetry.Domain.Campus.ComfortBands.Default,
            new Dictionary<string, SensorKind>(StringComparer.Ordinal), [])));
        services.AddOptions<AlertOptions>().BindConfiguration(AlertOptions.SectionName); // as the host does (AddTelemetryAlerts)
        services.AddAlertmanagerDestination(configuration);
        return services.BuildServiceProvider();
    }

    static AlertInfo NewAlert(AlertSeverity severity, string? building = null, string? sensor = null)
    {
        building ??= "b-" + Guid.NewGuid().ToString("N")[..8];
        sensor ??= "freezer-" + Guid.NewGuid().ToString("N")[..8];
        var raisedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 5_000;
        return new AlertInfo($"{sensor}/too-warm/{raisedAtMs}", building, "lab-1", sensor, "too-warm", AlertRuleType.Threshold, severity,
            AlertState.Active, raisedAtMs, -12.5, "temperature -12.5 °C above -15 for 5m", null, null, null, null, null, false);
    }

    static AlertNotification Notification(AlertInfo alert, AlertNotificationKind kind, long? atMs = null)
    {
        var at = atMs ?? alert.RaisedAtMs;
        return new AlertNotification(AlertNotification.KeyOf(alert, kind, at), kind, at, alert, 0);
    }

    static Dictionary<string, string> ExpectedLabels(AlertInfo alert) => new()
    {
        ["alertname"] = "too-warm",
        ["campus"] = Campus,
        ["building"] = alert.Building,
        ["room"] = "lab-1",
        ["sensor"] = alert.Sensor,
        ["rule"] = "too-warm",
        ["severity"] = WireName.Of(alert.Severity),
        ["alert_id"] = alert.Id,
    };

    /// <summary>The alerts Alertmanager lists with the alert's id (polled until there are <paramref name="expected"/> when given).</summary>
    async Task<IReadOnlyList<JsonElement>> ActiveAsync(AlertInfo alert, int? expected = null)
    {
        var matcher = $"alert_id=\"{alert.Id}\"";
        return expected is { } count
            ? await Poll.UntilAsync($"{count} alert(s) {matcher} in Alertmanager", () => rig.Server.AlertsAsync(matcher, Ct), a => a.Count == count, Within, cancellationToken: Ct)
            : await rig.Server.AlertsAsync(matcher, Ct);
    }

    /// <summary>Waits until <paramref name="receiver"/> got a notification holding the alert with <paramref name="status"/>; returns the receiver's name and the alert as sent.</summary>
    static async Task<(string Receiver, JsonElement Alert)> ReceivedAsync(WebhookReceiver receiver, AlertInfo alert, string status)
    {
        var found = await Poll.UntilAsync(
            $"a {status} notification of {alert.Id} at {receiver.Url}",
            () => Task.FromResult(receiver.Calls.ToArray()
                .SelectMany(c => c.Body.GetProperty("alerts").EnumerateArray().Select(a => (Receiver: c.Body.GetProperty("receiver").GetString()!, Alert: a)))
                .Where(x => x.Alert.GetProperty("labels").TryGetProperty("alert_id", out var id) && id.GetString() == alert.Id
                            && x.Alert.GetProperty("status").GetString() == status)
                .ToList()),
            list => list.Count > 0,
            Within,
            show: list => $"{receiver.Calls.Count} calls",
            cancellationToken: Ct);
        return found[0];
    }

    static string[] Receivers(JsonElement alert) =>
        [.. alert.GetProperty("receivers").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).Order(StringComparer.Ordinal)];

    static Dictionary<string, string> Strings(JsonElement map) =>
        map.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    static long Ms(JsonElement alert, string property) =>
        DateTimeOffset.Parse(alert.GetProperty(property).GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
}
