using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OpenQA.Selenium;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.IntegrationTests.TechnicianConsole;
using Telemetry.Service.Security;

namespace Telemetry.IntegrationTests.Acceptance;

/// <summary>
/// The acceptance check of alert handling, end to end with everything real: the service as its own process (so it can
/// be SIGKILLed) with InfluxDB behind it, API keys, a webhook and Prometheus Alertmanager 0.25 as destinations
/// (Alertmanager on the repository's example route, its two receivers test webhooks), re-notification of critical
/// alerts every 2 s, and headless Chromium on the technician console. A freezer fault reaches Alertmanager and the
/// webhook, is re-notified while unacknowledged, a step persisted while the webhook refuses survives a SIGKILL, the
/// technician acknowledges in the browser (re-notifications stop, Alertmanager shows who), and the clear resolves it
/// in Alertmanager and at the webhook.
/// </summary>
public sealed class AlertHandlingTests
{
    const string CampusId = "acceptance";
    const string Building = "chem";
    const string Room = "lab-2";
    const string Sensor = "chem-lab2-freezer1";
    const string FaultRule = "freezer-fault";
    const string WarmRule = "freezer-too-warm";
    const string Webhook = "technicians";
    const string Note = "compressor restarted, door sealed";

    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    static readonly TimeSpan RenotifyEvery = TimeSpan.FromSeconds(2);

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    const string Registry = $$"""
        campus: { id: {{CampusId}}, name: Acceptance campus, timezone: UTC }
        unregistered: refuse
        kinds:
          freezer:
            interval: 60s
            metrics:
              temperature: { unit: "°C" }
              fault: { unit: "code" }
            alerts:
              - { id: {{FaultRule}}, type: fault-code, metric: fault, severity: critical }
              - { id: {{WarmRule}}, type: threshold, metric: temperature, above: -15, hysteresis: 1, severity: warning }
        buildings:
          - id: {{Building}}
            rooms:
              - id: {{Room}}
                sensors:
                  - { id: {{Sensor}}, kind: freezer }
        """;

    [Fact]
    public async Task A_freezer_failure_reaches_Alertmanager_and_the_webhook_is_renotified_survives_a_kill_is_acknowledged_in_the_console_and_resolves_on_clear()
    {
        var clock = Stopwatch.StartNew();
        var directory = Directory.CreateTempSubdirectory("telemetry-it-acceptance-").FullName;
        try
        {
            var registry = Path.Combine(directory, "campus.yaml");
            await File.WriteAllTextAsync(registry, Registry, Ct);
            await using var influx = await InfluxDbServer.StartAsync(Ct);
            await influx.CreateDatabaseAsync("campus", Ct);
            await using var webhook = await WebhookReceiver.StartAsync(Ct);
            await using var facilities = await WebhookReceiver.StartAsync(Ct);
            await using var oncall = await WebhookReceiver.StartAsync(Ct);
            await using var alertmanager = await AlertmanagerServer.StartAsync(
                new Dictionary<string, string> { ["facilities"] = facilities.Url, ["oncall-technician"] = oncall.Url }, cancellationToken: Ct);
            var technician = ApiKeys.Create("night shift", ApiRoles.Technician);
            await using var service = await ServiceProcess.StartAsync(
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus",
                $"--Campus:RegistryPath={registry}",
                $"--Api:Keys:0:Name={technician.Name}", $"--Api:Keys:0:Role={technician.Role}", $"--Api:Keys:0:Hash={technician.Hash}",
                $"--Alerts:Webhooks:0:Name={Webhook}", $"--Alerts:Webhooks:0:Url={webhook.Url}", "--Alerts:Webhooks:0:MaxDelay=00:00:01",
                $"--Alerts:Alertmanager:Url={alertmanager.Url}", "--Alerts:Alertmanager:RefreshInterval=00:00:02",
                $"--Alerts:Escalation:Critical:RenotifyEvery={RenotifyEvery:c}",
            ], Ct);
            service.Http.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, technician.Key);
            Report($"{clock.Elapsed.TotalSeconds:F1} s: InfluxDB, Alertmanager, three receivers and the service are up");

            // 1. The freezer reports a fault: a critical alert, in Alertmanager with its labels and at the webhook as raised.
            await PublishAsync(service, temperature: -25.0, fault: 3);
            var alert = await ActiveAlertAsync(service, FaultRule);
            var id = alert.GetProperty("id").GetString()!;
            var raisedKey = $"{id}/raised/{alert.GetProperty("raisedAtMs").GetInt64()}";
            var held = (await Poll.UntilAsync($"{id} in Alertmanager's active alerts", () => alertmanager.AlertsAsync(Matcher(id), Ct), a => a.Count == 1, Deadline,
                show: a => $"[{string.Join(", ", a.Select(x => x.GetRawText()))}]", cancellationToken: Ct))[0];
            Assert.Equal(
                new Dictionary<string, string>
                {
                    ["alertname"] = FaultRule, ["campus"] = CampusId, ["building"] = Building, ["room"] = Room, ["sensor"] = Sensor,
                    ["rule"] = FaultRule, ["severity"] = "critical", ["alert_id"] = id,
                },
                Strings(held.GetProperty("labels")));
            Assert.Equal<string[]>(["facilities", "oncall-technician"], [.. held.GetProperty("receivers").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).Order(StringComparer.Ordinal)]);
            await AlertmanagerNotifiedAsync(oncall, id, "firing");
            var raised = await CallAsync(webhook, $"the raised step {raisedKey} at the webhook", c => c.IdempotencyKey == raisedKey);
            Assert.Equal(("raised", "raised", 0), (Kind(raised), Event(raised), raised.Body.GetProperty("repeat").GetInt32()));
            Report($"{clock.Elapsed.TotalSeconds:F1} s: {id} raised, in Alertmanager and at the webhook");

            // 2. Unacknowledged: re-notified, each time under a key of its own.
            var renotified = await CallAsync(webhook, $"a renotified notification of {id} at the webhook", c => Kind(c) == "renotified" && AlertId(c) == id);
            Assert.StartsWith($"{id}/renotified/", renotified.IdempotencyKey, StringComparison.Ordinal);
            Assert.NotEqual(raisedKey, renotified.IdempotencyKey);
            Assert.Equal(renotified.IdempotencyKey, renotified.Body.GetProperty("key").GetString());
            Assert.Equal("raised", Event(renotified)); // still unacknowledged
            Assert.True(renotified.Body.GetProperty("repeat").GetInt32() >= 1, renotified.Body.GetRawText());
            Report($"{clock.Elapsed.TotalSeconds:F1} s: re-notified ({renotified.IdempotencyKey})");

            // 3. The webhook refuses; the freezer warms up: a second alert's raise is persisted in the webhook's outbox
            //    (its cursor moved past the index's log as it was) and not delivered; SIGKILL; after the restart the
            //    webhook accepts again and gets it, with the same key, and every notification it refused before the kill.
            webhook.Refuse = true;
            var cursorBefore = (await OutboxAsync(service)).GetProperty("cursor").GetInt64();
            await PublishAsync(service, temperature: -5.0, fault: 3);
            var warm = await ActiveAlertAsync(service, WarmRule);
            var warmKey = $"{warm.GetProperty("id").GetString()}/raised/{warm.GetProperty("raisedAtMs").GetInt64()}";
            var pending = await Poll.UntilAsync(
                $"the {Webhook} outbox to hold {warmKey} (cursor past {cursorBefore}) with a refused attempt",
                () => OutboxAsync(service),
                o => o.GetProperty("cursor").GetInt64() > cursorBefore && o.GetProperty("pending").GetInt32() > 0
                     && o.GetProperty("lastError").ValueKind == JsonValueKind.String && webhook.Attempts.Any(a => !a.Accepted),
                Deadline,
                show: o => $"{o.GetRawText()}; refused POSTs {webhook.Attempts.Count(a => !a.Accepted)}",
                cancellationToken: Ct);
            Assert.DoesNotContain(webhook.Calls, c => c.IdempotencyKey == warmKey);
            service.Process.Kill();
            var refusedKeys = webhook.Attempts.Where(a => !a.Accepted).Select(a => a.IdempotencyKey!).Distinct().ToList();
            Report($"{clock.Elapsed.TotalSeconds:F1} s: SIGKILL with outbox {pending.GetRawText()}, refused [{string.Join(", ", refusedKeys)}]");
            webhook.Refuse = false;
            await service.Process.StartAsync(Ct);
            Report($"{clock.Elapsed.TotalSeconds:F1} s: restarted on the same state folder in {service.Process.LastStartDuration.TotalSeconds:F1} s");

            var afterKill = await Poll.UntilAsync(
                $"the webhook to accept {warmKey} and every key it refused before the kill",
                () => Task.FromResult(webhook.Calls),
                c => c.Any(x => x.IdempotencyKey == warmKey) && refusedKeys.All(k => c.Any(x => x.IdempotencyKey == k)),
                Deadline,
                show: c => $"accepted [{string.Join(", ", c.Select(x => x.IdempotencyKey))}]",
                cancellationToken: Ct);
            var warmCall = afterKill.First(c => c.IdempotencyKey == warmKey);
            Assert.Equal(("raised", "raised", WarmRule, warmKey), (Kind(warmCall), Event(warmCall), warmCall.Body.GetProperty("rule").GetString(), warmCall.Body.GetProperty("key").GetString()));
            Report($"{clock.Elapsed.TotalSeconds:F1} s: after the restart the webhook got {warmKey} and the {refusedKeys.Count} refused key(s)");

            // 4. The technician signs in to the console in a real browser and acknowledges the fault with a note.
            using (var browser = Chromium.Start())
            {
                browser.Open(new Uri(service.HttpUrl, "console/sign-in"));
                browser.Driver.FindElement(By.Id("key")).SendKeys(technician.Key);
                browser.Driver.FindElement(By.Id("sign-in")).Click();
                await Poll.UntilAsync("the console to show who is signed in", () => Task.FromResult(browser.TextOf("#whoami")),
                    t => t?.Contains($"signed in as {technician.Name}", StringComparison.Ordinal) == true, Deadline, cancellationToken: Ct);
                var row = $"#alerts tr[data-alert-id=\"{id}\"]";
                await Poll.UntilAsync($"the row of {id} in the console", () => Task.FromResult(browser.All(row).Count), n => n == 1, Deadline, cancellationToken: Ct);
                var element = browser.Driver.FindElement(By.CssSelector(row));
                element.FindElement(By.CssSelector("input.note")).SendKeys(Note);
                element.FindElement(By.CssSelector("button.ack")).Click();
                await Poll.UntilAsync("the row to show the acknowledgement",
                    () => Task.FromResult(browser.All($"{row} td.state") is [var state, ..] ? state.Text : null),
                    s => s?.Contains($"acknowledged by {technician.Name}", StringComparison.Ordinal) == true, Deadline, cancellationToken: Ct);
            }

            var acknowledged = await service.Http.GetFromJsonAsync<JsonElement>($"api/alerts/{id}", Ct);
            Assert.Equal(("acknowledged", technician.Name, Note),
                (acknowledged.GetProperty("state").GetString(), acknowledged.GetProperty("acknowledgedBy").GetString(), acknowledged.GetProperty("acknowledgeNote").GetString()));
            var acknowledgedAtMs = acknowledged.GetProperty("acknowledgedAtMs").GetInt64();
            var ackKey = $"{id}/acknowledged/{acknowledgedAtMs}";
            var ack = await CallAsync(webhook, $"the acknowledged step {ackKey} at the webhook", c => c.IdempotencyKey == ackKey);
            Assert.Equal(("acknowledged", "acknowledged", technician.Name, Note),
                (Kind(ack), Event(ack), ack.Body.GetProperty("acknowledgedBy").GetString(), ack.Body.GetProperty("acknowledgeNote").GetString()));
            var annotated = await Poll.UntilAsync($"{id} in Alertmanager annotated with who acknowledged it",
                () => alertmanager.AlertsAsync(Matcher(id), Ct),
                a => a.Count == 1 && a[0].GetProperty("annotations").TryGetProperty("acknowledged_by", out var by) && by.GetString() == technician.Name,
                Deadline, show: a => $"[{string.Join(", ", a.Select(x => x.GetRawText()))}]", cancellationToken: Ct);
            Assert.Equal(Note, annotated[0].GetProperty("annotations").GetProperty("acknowledge_note").GetString());
            Assert.Equal("active", annotated[0].GetProperty("status").GetProperty("state").GetString());

            // Re-notifications stop: for three periods, none due after the acknowledgement is even attempted.
            await Poll.ThroughoutAsync(
                $"no re-notification of {id} due after its acknowledgement at {acknowledgedAtMs}",
                () => Task.FromResult(webhook.Attempts.Where(a => Kind(a) == "renotified" && AlertId(a) == id).Select(a => a.IdempotencyKey!).ToList()),
                keys => keys.All(k => DueAtMs(k) <= acknowledgedAtMs),
                during: 3 * RenotifyEvery,
                show: keys => string.Join(", ", keys),
                every: TimeSpan.FromMilliseconds(250),
                cancellationToken: Ct);
            var renotifiedKeys = webhook.Calls.Where(c => Kind(c) == "renotified" && AlertId(c) == id).Select(c => c.IdempotencyKey!).ToList();
            Report($"{clock.Elapsed.TotalSeconds:F1} s: acknowledged in the console at {acknowledgedAtMs}; {renotifiedKeys.Count} re-notification(s) [{string.Join(", ", renotifiedKeys.Distinct())}]");

            // 5. The freezer is back to normal: cleared, resolved at both of Alertmanager's receivers, no longer active
            //    there, and the webhook got the clear.
            await PublishAsync(service, temperature: -25.0, fault: 0);
            var cleared = await Poll.UntilAsync($"{id} to be cleared", () => service.Http.GetFromJsonAsync<JsonElement>($"api/alerts/{id}", Ct),
                a => a.GetProperty("state").GetString() == "cleared", Deadline, cancellationToken: Ct);
            var clearedAtMs = cleared.GetProperty("clearedAtMs").GetInt64();
            Assert.Equal("auto", cleared.GetProperty("clearedBy").GetString());
            var clearedKey = $"{id}/cleared/{clearedAtMs}";
            var clearedCall = await CallAsync(webhook, $"the cleared step {clearedKey} at the webhook", c => c.IdempotencyKey == clearedKey);
            Assert.Equal(("cleared", "cleared"), (Kind(clearedCall), Event(clearedCall)));
            await Poll.UntilAsync($"{id} to leave Alertmanager's active alerts", () => alertmanager.AlertsAsync(Matcher(id), Ct), a => a.Count == 0, Deadline,
                show: a => $"[{string.Join(", ", a.Select(x => x.GetRawText()))}]", cancellationToken: Ct);
            foreach (var receiver in new[] { oncall, facilities })
            {
                var resolved = await AlertmanagerNotifiedAsync(receiver, id, "resolved", endsAtMs: clearedAtMs);
                Assert.Equal(technician.Name, resolved.GetProperty("annotations").GetProperty("acknowledged_by").GetString());
            }

            // Nothing lost on the whole way: every notification the webhook was ever offered was taken (the outbox
            // delivers in order, and the clear came last), and both outboxes are empty with nothing given up.
            var accepted = webhook.Calls.Select(c => c.IdempotencyKey).ToHashSet();
            Assert.DoesNotContain(webhook.Attempts, a => !accepted.Contains(a.IdempotencyKey));
            var outboxes = await Poll.UntilAsync("both outboxes to be empty", () => service.Http.GetFromJsonAsync<JsonElement>("api/alerts/outbox", Ct),
                o => o.GetArrayLength() == 2 && o.EnumerateArray().All(x => x.GetProperty("pending").GetInt32() == 0), Deadline, show: o => o.GetRawText(), cancellationToken: Ct);
            Assert.All(outboxes.EnumerateArray(), o => Assert.Equal((0L, 0L), (o.GetProperty("givenUp").GetInt64(), o.GetProperty("expired").GetInt64())));
            Report($"{clock.Elapsed.TotalSeconds:F1} s: cleared at {clearedAtMs}, resolved in Alertmanager at both receivers; "
                   + $"webhook: {webhook.Attempts.Count} POSTs, {webhook.Calls.Count} accepted; outboxes {outboxes.GetRawText()}");
        }
        finally
        {
            TestServer.DeleteDirectory(directory);
        }
    }

    static string Matcher(string id) => $"alert_id=\"{id}\"";

    static string? Kind(WebhookCall call) => call.Body.GetProperty("kind").GetString();

    static string? Event(WebhookCall call) => call.Body.GetProperty("event").GetString();

    static string? AlertId(WebhookCall call) => call.Body.GetProperty("id").GetString();

    /// <summary>The due time of a re-notification, the last part of its key <c>{alertId}/renotified/{dueAtMs}</c>.</summary>
    static long DueAtMs(string key) => long.Parse(key[(key.LastIndexOf('/') + 1)..], CultureInfo.InvariantCulture);

    static Dictionary<string, string> Strings(JsonElement map) => map.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    /// <summary>Waits for the first POST the receiver accepted that matches.</summary>
    static async Task<WebhookCall> CallAsync(WebhookReceiver receiver, string waitingFor, Func<WebhookCall, bool> match)
    {
        var calls = await Poll.UntilAsync(waitingFor, () => Task.FromResult(receiver.Calls), c => c.Any(match), Deadline,
            show: c => $"accepted [{string.Join(", ", c.Select(x => x.IdempotencyKey))}]; {receiver.Attempts.Count(a => !a.Accepted)} refused", cancellationToken: Ct);
        return calls.First(match);
    }

    /// <summary>Waits until one of Alertmanager's receivers got the alert with <paramref name="status"/> (and that endsAt); returns the alert as sent.</summary>
    static async Task<JsonElement> AlertmanagerNotifiedAsync(WebhookReceiver receiver, string id, string status, long? endsAtMs = null)
    {
        List<JsonElement> Matching(IEnumerable<WebhookCall> calls) =>
        [
            .. calls.SelectMany(c => c.Body.GetProperty("alerts").EnumerateArray())
                .Where(a => a.GetProperty("labels").TryGetProperty("alert_id", out var alertId) && alertId.GetString() == id
                            && a.GetProperty("status").GetString() == status
                            && (endsAtMs is not { } ends || DateTimeOffset.Parse(a.GetProperty("endsAt").GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds() == ends)),
        ];
        var found = await Poll.UntilAsync(
            $"Alertmanager to send {id} as {status}{(endsAtMs is { } e ? $" ending at {e}" : "")} to {receiver.Url}",
            () => Task.FromResult(receiver.Calls),
            c => Matching(c).Count > 0,
            Deadline,
            show: c => string.Join("; ", c.SelectMany(x => x.Body.GetProperty("alerts").EnumerateArray())
                .Select(a => $"{a.GetProperty("labels").GetProperty("alert_id").GetString()} {a.GetProperty("status").GetString()} endsAt {a.GetProperty("endsAt").GetString()}")),
            cancellationToken: Ct);
        return Matching(found)[0];
    }

    static async Task<JsonElement> ActiveAlertAsync(ServiceProcess service, string rule)
    {
        var alerts = await Poll.UntilAsync(
            $"an active {rule} alert of {Sensor} in /api/alerts",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
            a => a.EnumerateArray().Any(x => x.GetProperty("sensor").GetString() == Sensor && x.GetProperty("rule").GetString() == rule),
            Deadline,
            show: a => a.GetRawText(),
            cancellationToken: Ct);
        return alerts.EnumerateArray().First(x => x.GetProperty("sensor").GetString() == Sensor && x.GetProperty("rule").GetString() == rule);
    }

    static async Task<JsonElement> OutboxAsync(ServiceProcess service)
    {
        var all = await service.Http.GetFromJsonAsync<JsonElement>("api/alerts/outbox", Ct);
        return all.EnumerateArray().Single(o => o.GetProperty("destination").GetString() == Webhook);
    }

    /// <summary>One reading of the freezer over MQTT, QoS 1, acknowledged by the broker.</summary>
    static async Task PublishAsync(ServiceProcess service, double temperature, int fault)
    {
        using var device = new MqttClientFactory().CreateMqttClient();
        await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", service.MqttPort).WithClientId($"{Sensor}-device")
            .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30)).Build(), Ct);
        var result = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"campus/{Building}/{Room}/{Sensor}/telemetry")
            .WithPayload(FormattableString.Invariant($$"""{"temperature": {{temperature}}, "fault": {{fault}}}"""))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        Assert.True(result.IsSuccess, $"the reading was refused: {result.ReasonCode} {result.ReasonString}");
        await device.DisconnectAsync(cancellationToken: Ct);
    }

    static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
