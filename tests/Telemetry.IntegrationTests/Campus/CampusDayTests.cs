using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.EndToEnd;

namespace Telemetry.IntegrationTests.Campus;

/// <summary>
/// What the campus day shows: every scheduled fault became exactly one alert with the right severity and lifecycle,
/// delivered over MQTT, to the webhook and to InfluxDB; healthy devices raised none; the rooms and buildings served by
/// the API hold what the simulator sent.
/// </summary>
[Collection(CampusDayFixture.CollectionName)]
public sealed class CampusDayTests(CampusDayFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    HttpClient Http => fixture.Service.Http;

    /// <summary>(sensor, rule) → expected severity, one alert each.</summary>
    static readonly Dictionary<(string Sensor, string Rule), string> Expected = new()
    {
        [(CampusDayFixture.Freezer, "freezer-warm")] = "critical",
        [(CampusDayFixture.StuckSensor, "temp-stuck")] = "warning",
        [(CampusDayFixture.OfflineSensor, "offline")] = "warning",
    };

    [Fact]
    public async Task Every_scheduled_fault_becomes_exactly_one_alert_and_healthy_devices_raise_none()
    {
        Assert.True(fixture.Summary.Succeeded, $"simulator: acked {fixture.Summary.MessagesAcked} of {fixture.Summary.MessagesSent}");
        var finished = await FinishedAlertsAsync();

        // Offline alerts raised once the simulator stopped (every device disconnects then) are the end of the day,
        // not faults; the probes are driven by the offline tests.
        var simulationStopped = fixture.RunStarted + CampusDayFixture.Day / CampusDayFixture.Speed - TimeSpan.FromMilliseconds(500);
        var all = finished.Concat(await AlertsAsync("api/alerts?limit=1000"))
            .Where(a => a.Building != CampusDayFixture.ProbeBuildingId)
            .Where(a => !(a.Rule == "offline" && a.RaisedAt >= simulationStopped))
            .ToList();

        var unexpected = all.Where(a => !Expected.ContainsKey((a.Sensor, a.Rule))).ToList();
        Assert.True(unexpected.Count == 0, "alerts of healthy devices: " + string.Join("; ", unexpected.Select(a => $"{a.Id} {a.Message}")));
        foreach (var ((sensor, rule), severity) in Expected)
        {
            var alert = Assert.Single(all, a => a.Sensor == sensor && a.Rule == rule);
            Assert.Equal(severity, alert.Severity);
            Assert.Equal("cleared", alert.State);
            Assert.Equal("auto", alert.ClearedBy);
        }
    }

    [Fact]
    public async Task The_freezer_alert_is_acknowledged_through_the_api_and_cleared_when_the_temperature_recovers()
    {
        var finished = await FinishedAlertsAsync();
        var freezer = Assert.Single(finished, a => a.Sensor == CampusDayFixture.Freezer);
        Assert.Equal((200, true), (fixture.Acknowledgement?.Status ?? 0, fixture.Acknowledgement?.Body.Contains(CampusDayFixture.Technician, StringComparison.Ordinal) == true));
        Assert.Equal(CampusDayFixture.Technician, freezer.AcknowledgedBy);
        Assert.Equal("critical", freezer.Severity);
        Assert.True(freezer.ClearedAt > freezer.RaisedAt, $"cleared {freezer.ClearedAt:O} before raised {freezer.RaisedAt:O}");

        // The failure starts 2 h into the day; at about 0.3 °C per minute from about -20 °C the rule's limit (-15 °C,
        // held for 5 min) is reached within roughly 30 simulated minutes.
        var failureStart = fixture.Summary.SimulatedStart + TimeSpan.FromHours(2);
        Assert.InRange(freezer.RaisedAt, failureStart, failureStart + TimeSpan.FromMinutes(45));

        // Acknowledging again is refused, not notified twice.
        using var again = await Http.PostAsJsonAsync($"api/alerts/{freezer.Id}/ack", new { by = "someone else" }, Ct);
        Assert.Equal(409, (int)again.StatusCode);
    }

    [Fact]
    public async Task Alert_steps_reach_the_webhook_signed_and_in_order()
    {
        var freezer = Assert.Single(await FinishedAlertsAsync(), a => a.Sensor == CampusDayFixture.Freezer);
        var calls = await Poll.UntilAsync(
            "three webhook calls for the freezer alert",
            () => Task.FromResult(fixture.WebhookCalls.Where(c => c.Body.GetProperty("id").GetString() == freezer.Id).ToList()),
            found => found.Count >= 3, cancellationToken: Ct);

        Assert.Equal(["raised", "acknowledged", "cleared"], calls.Select(c => c.Body.GetProperty("event").GetString()));
        foreach (var call in calls)
        {
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(CampusDayFixture.WebhookSecret), call.Raw));
            Assert.Equal(expected, call.Signature);
            Assert.Equal(call.Body.GetProperty("key").GetString(), call.IdempotencyKey);
        }

        // Warnings are at the webhook's minimum severity: the stuck sensor's alert went there too.
        Assert.Contains(fixture.WebhookCalls, c => c.Body.GetProperty("sensor").GetString() == CampusDayFixture.StuckSensor);
    }

    [Fact]
    public async Task Alert_steps_are_published_over_mqtt_retained_while_active_and_removed_on_clear()
    {
        var freezer = Assert.Single(await FinishedAlertsAsync(), a => a.Sensor == CampusDayFixture.Freezer);
        var topic = $"campus/alerts/bldg-1/lab1/{CampusDayFixture.Freezer}/freezer-warm";
        var messages = await Poll.UntilAsync(
            $"four MQTT messages on {topic}",
            () => Task.FromResult(fixture.AlertMessages.Where(m => m.Topic == topic).ToList()),
            found => found.Count >= 4, cancellationToken: Ct);

        var steps = messages.Select(m => (Event: m.Payload.Length == 0 ? "" : JsonDocument.Parse(m.Payload).RootElement.GetProperty("event").GetString(), m.Retain)).ToList();
        Assert.Equal([("raised", true), ("acknowledged", true), ("cleared", false), ("", true)], steps);

        Assert.Equal(freezer.Id, JsonDocument.Parse(messages[0].Payload).RootElement.GetProperty("id").GetString());

        // A subscriber arriving now gets the retained message of every active alert (the devices went offline when the
        // simulator stopped) and none for the cleared freezer alert.
        var active = await Poll.UntilAsync(
            "an active alert",
            async () => (await Http.GetFromJsonAsync<JsonElement>("api/alerts?limit=1000", Ct)).GetArrayLength(),
            count => count > 0, cancellationToken: Ct);
        using var late = await fixture.Service.ConnectAsync("late-watcher", MqttProtocolVersion.V500, Ct);
        var retained = new System.Collections.Concurrent.ConcurrentBag<string>();
        late.ApplicationMessageReceivedAsync += args =>
        {
            retained.Add(args.ApplicationMessage.Topic);
            return Task.CompletedTask;
        };
        await late.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("campus/alerts/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        await Poll.UntilAsync($"the retained messages of the {active} active alerts", () => Task.FromResult(retained.ToList()), found => found.Count >= active, cancellationToken: Ct);
        Assert.DoesNotContain(topic, retained);
    }

    [Fact]
    public async Task Every_alert_step_is_a_point_of_the_alerts_measurement()
    {
        var freezer = Assert.Single(await FinishedAlertsAsync(), a => a.Sensor == CampusDayFixture.Freezer);
        var series = await Poll.UntilAsync(
            "three points of the freezer alert in the alerts measurement",
            () => fixture.Influx.QueryAsync(CampusDayFixture.Database,
                $"SELECT \"event\", active, severity FROM \"{CampusDayFixture.LongRetentionPolicy}\".alerts WHERE alert_id = '{freezer.Id}'", Ct),
            found => found.Sum(s => s.Values.Count) >= 3, cancellationToken: Ct);
        var rows = series.Single();

        // Raise and clear carry the readings' time (simulated, hours before now), the acknowledgement the time the
        // technician acted; so the points are compared by step, not by position.
        var steps = Enumerable.Range(0, rows.Values.Count)
            .ToDictionary(i => rows.Get(i, "event").GetString()!, i => (Active: rows.Get(i, "active").GetDouble(), Time: rows.Get(i, "time").GetInt64()));
        Assert.Equal(["acknowledged", "cleared", "raised"], steps.Keys.Order());
        Assert.Equal((1.0, 1.0, 0.0), (steps["raised"].Active, steps["acknowledged"].Active, steps["cleared"].Active));
        Assert.Equal(freezer.RaisedAt.ToUnixTimeMilliseconds(), steps["raised"].Time);
        Assert.Equal(freezer.ClearedAt?.ToUnixTimeMilliseconds(), steps["cleared"].Time);
    }

    [Fact]
    public async Task Rooms_and_buildings_served_by_the_api_hold_what_the_simulator_sent()
    {
        await FinishedAlertsAsync(); // the day is over and settled
        var sensors = fixture.Summary.Sensors;
        double? Last(string sensor, string metric)
        {
            var readings = sensors[sensor].AcknowledgedReadings.Where(r => r.Metrics.ContainsKey(metric)).ToList();
            return readings.Count == 0 ? null : readings.MaxBy(r => r.Timestamp)!.Metrics[metric];
        }

        var campus = await Http.GetFromJsonAsync<JsonElement>("api/buildings", Ct);
        Assert.Equal(117 + CampusDayFixture.Probes.Length, campus.GetProperty("devicesTotal").GetInt32());

        var checkedRooms = 0;
        foreach (var building in campus.GetProperty("buildings").EnumerateArray().Select(b => b.GetProperty("building").GetString()!)
                     .Where(b => b != CampusDayFixture.ProbeBuildingId))
        {
            var detail = await Http.GetFromJsonAsync<JsonElement>($"api/buildings/{building}", Ct);
            var mains = $"{building}-plant-energy";
            AssertClose(Last(mains, "energy"), detail.GetProperty("energyKwh").GetDouble(), $"{building} energy");

            foreach (var room in detail.GetProperty("rooms").EnumerateArray())
            {
                var roomId = room.GetProperty("room").GetString()!;
                var state = await Http.GetFromJsonAsync<JsonElement>($"api/rooms/{building}/{roomId}", Ct);
                foreach (var report in state.GetProperty("sensors").EnumerateArray())
                {
                    var sensor = report.GetProperty("sensor").GetString()!;
                    AssertClose(Last(sensor, "people"), Number(report, "people"), $"{sensor} people");
                    AssertClose(Last(sensor, "co2"), Number(report, "co2Ppm"), $"{sensor} co2");
                    AssertClose(Last(sensor, "humidity"), Number(report, "humidityPercent"), $"{sensor} humidity");
                    if (!sensor.Contains("freezer", StringComparison.Ordinal))
                    {
                        AssertClose(Last(sensor, "temperature"), Number(report, "temperatureC"), $"{sensor} temperature");
                    }
                }

                checkedRooms++;
            }
        }

        Assert.Equal(29, checkedRooms);
    }

    [Fact]
    public async Task A_device_reporting_at_its_interval_stays_online_and_is_offline_within_two_intervals_after_it_stops()
    {
        var interval = CampusDayFixture.RegistryInterval;
        var sensor = CampusDayFixture.Probes[0];
        using var device = await fixture.Service.ConnectAsync(sensor, MqttProtocolVersion.V500, Ct);
        var random = new Random(5);
        var started = DateTimeOffset.UtcNow;
        DateTimeOffset lastSent = default;
        for (var i = 0; i < 10; i++)
        {
            await device.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic($"campus/probe/p1/{sensor}/telemetry")
                .WithPayload($"{{\"people\":{i % 3}}}")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build(), Ct);
            lastSent = DateTimeOffset.UtcNow;

            // At its interval, with ±30 % jitter: the pace of the device is the thing under test here.
            await Task.Delay(interval * (0.7 + 0.6 * random.NextDouble()), Ct);
        }

        // Still connected, but silent from now on.
        var offline = await Poll.UntilAsync(
            $"an offline alert for {sensor} once it fell silent",
            async () => (await AlertsAsync("api/alerts?limit=1000")).FirstOrDefault(a => a.Sensor == sensor && a.Rule == "offline" && a.RaisedAt > started),
            found => found is not null, within: TimeSpan.FromSeconds(10), cancellationToken: Ct);

        var raisedWhileReporting = (await AlertsAsync("api/alerts?state=recent&max=1000"))
            .Where(a => a.Sensor == sensor && a.RaisedAt > started && a.RaisedAt < lastSent).ToList();
        Assert.Empty(raisedWhileReporting);
        Assert.InRange(offline!.RaisedAt - lastSent, TimeSpan.Zero, 2 * interval);
    }

    [Fact]
    public async Task A_device_that_disconnects_is_offline_within_two_intervals()
    {
        var interval = CampusDayFixture.RegistryInterval;
        var sensor = CampusDayFixture.Probes[1];
        var device = await fixture.Service.ConnectAsync(sensor, MqttProtocolVersion.V500, Ct);
        await device.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"campus/probe/p1/{sensor}/telemetry")
            .WithPayload("{\"people\":1}")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), Ct);
        await device.DisconnectAsync(cancellationToken: Ct);
        var gone = DateTimeOffset.UtcNow;
        device.Dispose();

        var offline = await Poll.UntilAsync(
            $"an offline alert for {sensor} after it disconnected",
            async () => (await AlertsAsync("api/alerts?limit=1000")).FirstOrDefault(a => a.Sensor == sensor && a.Rule == "offline" && a.RaisedAt > gone - TimeSpan.FromMilliseconds(200)),
            found => found is not null, within: TimeSpan.FromSeconds(10), cancellationToken: Ct);
        Assert.InRange(offline!.RaisedAt - gone, TimeSpan.Zero, 2 * interval);
    }

    /// <summary>Waits until the three scheduled faults' alerts have cleared, then returns the finished alerts.</summary>
    async Task<IReadOnlyList<AlertView>> FinishedAlertsAsync() =>
        await Poll.UntilAsync(
            "the alerts of the three scheduled faults to clear",
            () => AlertsAsync("api/alerts?state=recent&max=1000"),
            found => Expected.Keys.All(k => found.Any(a => a.Sensor == k.Sensor && a.Rule == k.Rule)),
            within: TimeSpan.FromSeconds(30), cancellationToken: Ct);

    async Task<IReadOnlyList<AlertView>> AlertsAsync(string path)
    {
        var json = await Http.GetFromJsonAsync<JsonElement>(path, Ct);
        return [.. json.EnumerateArray().Select(AlertView.From)];
    }

    static double? Number(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    static void AssertClose(double? expected, double? actual, string what)
    {
        if (expected is null)
        {
            Assert.True(actual is null, $"{what}: the simulator sent none, the API has {actual}");
            return;
        }

        Assert.True(actual is not null && Math.Abs(expected.Value - actual.Value) <= 0.0015 + Math.Abs(expected.Value) * 1e-9,
            $"{what}: the simulator last sent {expected}, the API has {actual}");
    }

    sealed record AlertView(string Id, string Building, string Sensor, string Rule, string Severity, string State, DateTimeOffset RaisedAt,
        DateTimeOffset? ClearedAt, string? ClearedBy, string? AcknowledgedBy, string Message)
    {
        public static AlertView From(JsonElement a) => new(
            a.GetProperty("id").GetString()!,
            a.GetProperty("building").GetString()!,
            a.GetProperty("sensor").GetString()!,
            a.GetProperty("rule").GetString()!,
            a.GetProperty("severity").GetString()!,
            a.GetProperty("state").GetString()!,
            DateTimeOffset.FromUnixTimeMilliseconds(a.GetProperty("raisedAtMs").GetInt64()),
            a.TryGetProperty("clearedAtMs", out var c) && c.ValueKind == JsonValueKind.Number ? DateTimeOffset.FromUnixTimeMilliseconds(c.GetInt64()) : null,
            a.TryGetProperty("clearedBy", out var by) ? by.GetString() : null,
            a.TryGetProperty("acknowledgedBy", out var ack) ? ack.GetString() : null,
            a.GetProperty("message").GetString()!);
    }
}
