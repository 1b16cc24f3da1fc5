using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.Domain.Alerts;
using Telemetry.Grains.Persistence;
using Telemetry.Grains.Sensors;
using Telemetry.IntegrationTests.EndToEnd;

namespace Telemetry.IntegrationTests.Campus;

/// <summary>
/// The service with a small registry of its own (unregistered sensors refused), writing to the shared InfluxDB 1.6:
/// the registry is reloaded without a restart, SenML is resolved and converted to the registry's units, and an active
/// alert survives a restart of the service (the API and the retained MQTT message have it again).
/// </summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class CampusServiceLifecycleTests(ServiceOnInfluxV1Fixture fixture) : IAsyncLifetime
{
    const string Registry = """
        campus: { id: lifecycle, name: Lifecycle campus, timezone: Europe/Berlin }
        unregistered: refuse
        kinds:
          freezer:
            interval: 1h
            metrics:
              temperature: { unit: "°C" }
              fault: { unit: code }
            alerts:
              - { id: freezer-fault, type: fault-code, metric: fault, severity: critical }
          air:
            interval: 1h
            metrics:
              temperature: { unit: "°C", rollup: temperature }
          beacon:
            interval: 1h
            metrics:
              people: { unit: count, rollup: people }
            alerts:
              - { id: offline, type: offline, intervals: 2, grace: 1s, severity: warning }
        buildings:
          - id: lc
            rooms:
              - id: lab
                capacity: 10
                sensors:
                  - { id: lc-freezer, kind: freezer }
                  - { id: lc-air, kind: air }
                  - { id: lc-beacon, kind: beacon }
                  - { id: lc-beacon2, kind: beacon }

        """;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    string directory = "";
    string registryPath = "";
    string spoolPath = "";

    public async ValueTask InitializeAsync()
    {
        directory = Directory.CreateTempSubdirectory("telemetry-it-lifecycle-").FullName;
        registryPath = Path.Combine(directory, "campus.yaml");
        spoolPath = Path.Combine(directory, "spool");
        await File.WriteAllTextAsync(registryPath, Registry, Ct);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    Task<TelemetryServiceHost> StartAsync(params string[] more) => TelemetryServiceHost.StartAsync(
        ["--Influx:Api=V1", $"--Influx:Url={fixture.Influx.Url}", $"--Influx:Database={ServiceOnInfluxV1Fixture.Database}",
         $"--Campus:RegistryPath={registryPath}", "--Campus:RegistryPollInterval=00:00:00.200", .. more],
        Ct, spoolPath);

    [Fact]
    public async Task Unregistered_sensors_are_refused_until_the_registry_lists_them_without_a_restart()
    {
        await using var service = await StartAsync();
        using var device = await service.ConnectAsync("lc-new", MqttProtocolVersion.V500, Ct);

        var refused = await PublishAsync(device, "campus/lc/lab/lc-new/telemetry", "{\"temperature\":4.5}");
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        Assert.Contains("sensor_not_registered", refused.ReasonString, StringComparison.Ordinal);

        await File.WriteAllTextAsync(registryPath, Registry + "      - id: lab2\n        sensors:\n          - { id: lc-new, kind: air }\n", Ct);

        // Reloading takes a moment (file events plus a settle time); every attempt before it is refused and counted.
        var accepted = await Poll.UntilAsync(
            "the reloaded registry to accept lc-new in lab2",
            () => PublishAsync(device, "campus/lc/lab2/lc-new/telemetry", "{\"temperature\":4.5}"),
            result => result.ReasonCode == MqttClientPublishReasonCode.Success,
            within: TimeSpan.FromSeconds(15), show: result => $"{result.ReasonCode} {result.ReasonString}", cancellationToken: Ct);
        Assert.True(accepted.IsSuccess);
        // The PUBACK means stored in the spool; the grains take the reading from there a moment later.
        var room = await Poll.UntilAsync("lab2 to report the accepted temperature",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/rooms/lc/lab2", Ct),
            r => r.GetProperty("temperatureC").ValueKind == JsonValueKind.Number, show: r => r.ToString(), cancellationToken: Ct);
        Assert.Equal(4.5, room.GetProperty("temperatureC").GetDouble());
    }

    [Fact]
    public async Task A_registry_edit_whose_alert_band_could_never_clear_is_refused_visibly_and_costs_no_readings()
    {
        await using var service = await StartAsync();
        using var freezer = await service.ConnectAsync("lc-freezer", MqttProtocolVersion.V500, Ct);

        // Issue 10's fridge band: below + hysteresis (8) lies above above - hysteresis (7), so no value could clear it.
        var band = Registry.Replace(
            "- { id: freezer-fault, type: fault-code, metric: fault, severity: critical }",
            "- { id: band, type: threshold, metric: temperature, above: 10, below: 5, hysteresis: 3, severity: warning }",
            StringComparison.Ordinal);
        Assert.NotEqual(Registry, band);
        await File.WriteAllTextAsync(registryPath, band, Ct);

        var registry = await Poll.UntilAsync(
            "/health/ready to report the refused registry edit",
            async () => (await service.Http.GetFromJsonAsync<JsonElement>("health/ready", Ct)).GetProperty("checks").GetProperty("registry"),
            check => check.GetProperty("status").GetString() == "Degraded", cancellationToken: Ct);
        var description = registry.GetProperty("description").GetString();
        Assert.Contains($"{registryPath}:10:", description, StringComparison.Ordinal); // the rule's line, counted by hand
        Assert.Contains("hysteresis", description, StringComparison.Ordinal);

        // The previous registry stays in force: the freezer's readings are accepted and stored, its fault rule raises.
        var since = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.True((await PublishAsync(freezer, "campus/lc/lab/lc-freezer/telemetry", "{\"temperature\":12.5,\"fault\":2}")).IsSuccess);
        await Poll.UntilAsync(
            "the new reading of lc-freezer in InfluxDB",
            () => fixture.Influx.QueryAsync(ServiceOnInfluxV1Fixture.Database,
                $"SELECT temperature FROM telemetry WHERE sensor = 'lc-freezer' AND time >= {since}ms", Ct),
            found => found.Sum(s => s.Values.Count) == 1, cancellationToken: Ct);
        var alerts = await Poll.UntilAsync(
            "the freezer-fault alert of the registry in force",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
            found => found.EnumerateArray().Any(a => a.GetProperty("rule").GetString() == "freezer-fault"), cancellationToken: Ct);
        Assert.DoesNotContain(alerts.EnumerateArray(), a => a.GetProperty("rule").GetString() == "band");
    }

    [Fact]
    public async Task SenML_is_resolved_and_converted_to_the_registry_units()
    {
        await using var service = await StartAsync();
        using var device = await service.ConnectAsync("lc-air", MqttProtocolVersion.V500, Ct);
        var baseTime = DateTimeOffset.UtcNow.AddMinutes(-3).ToUnixTimeSeconds();

        // Kelvin to °C, relative times against the base time, base name naming the sensor. Other tests of this class
        // store lc-air readings in the same database at the current time; this one reads its own two minutes back.
        var payload = $$"""[{"bn":"lc-air:","bt":{{baseTime}},"bu":"K","n":"temperature","v":294.15},{"n":"temperature","t":60,"v":295.15}]""";
        var result = await PublishAsync(device, "campus/lc/lab/lc-air/senml", payload);
        Assert.Equal(MqttClientPublishReasonCode.Success, result.ReasonCode);

        var series = await Poll.UntilAsync(
            "both SenML readings of lc-air in InfluxDB",
            () => fixture.Influx.QueryAsync(ServiceOnInfluxV1Fixture.Database, $"SELECT temperature FROM telemetry WHERE sensor = 'lc-air' AND time >= {baseTime}s AND time <= {baseTime + 60}s ORDER BY time", Ct),
            found => found.Sum(s => s.Values.Count) >= 2, cancellationToken: Ct);
        var rows = series.Single();
        Assert.Equal([(baseTime * 1000, 21.0), ((baseTime + 60) * 1000, 22.0)],
            Enumerable.Range(0, rows.Values.Count).Select(i => (rows.Get(i, "time").GetInt64(), Math.Round(rows.Get(i, "temperature").GetDouble(), 6))));

        var mismatch = await PublishAsync(device, "campus/lc/lab/lc-air/senml", """[{"n":"lc-air:temperature","u":"ppm","v":400}]""");
        Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, mismatch.ReasonCode);
        Assert.Contains("unit_mismatch", mismatch.ReasonString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_active_alert_survives_a_restart_of_the_service()
    {
        string alertId;
        await using (var service = await StartAsync())
        {
            using var device = await service.ConnectAsync("lc-freezer", MqttProtocolVersion.V500, Ct);
            Assert.True((await PublishAsync(device, "campus/lc/lab/lc-freezer/telemetry", "{\"temperature\":-19.5,\"fault\":7}")).IsSuccess);
            var active = await Poll.UntilAsync(
                "the freezer-fault alert of lc-freezer to be the one active alert",
                () => service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
                alerts => alerts.GetArrayLength() == 1, cancellationToken: Ct);
            alertId = active[0].GetProperty("id").GetString()!;
            Assert.StartsWith("lc-freezer/freezer-fault/", alertId, StringComparison.Ordinal);
        }

        await using (var restarted = await StartAsync())
        {
            var active = await restarted.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct);
            var alert = Assert.Single(active.EnumerateArray());
            Assert.Equal((alertId, "active", "critical"),
                (alert.GetProperty("id").GetString(), alert.GetProperty("state").GetString(), alert.GetProperty("severity").GetString()));

            // The broker's retained messages live in memory; the service publishes the active alerts again at start.
            using var watcher = await restarted.ConnectAsync("watcher", MqttProtocolVersion.V500, Ct);
            var received = new System.Collections.Concurrent.ConcurrentQueue<(string Topic, string Payload)>();
            watcher.ApplicationMessageReceivedAsync += args =>
            {
                received.Enqueue((args.ApplicationMessage.Topic, args.ApplicationMessage.ConvertPayloadToString() ?? ""));
                return Task.CompletedTask;
            };
            await watcher.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("campus/alerts/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
            var retained = await Poll.UntilAsync("the retained alert message after the restart", () => Task.FromResult(received.ToList()), r => r.Count > 0, cancellationToken: Ct);
            Assert.Equal("campus/alerts/lc/lab/lc-freezer/freezer-fault", retained[0].Topic);
            Assert.Equal(alertId, JsonDocument.Parse(retained[0].Payload).RootElement.GetProperty("id").GetString());

            // The device reports the fault gone: the alert restored from disk clears.
            using var device = await restarted.ConnectAsync("lc-freezer", MqttProtocolVersion.V500, Ct);
            Assert.True((await PublishAsync(device, "campus/lc/lab/lc-freezer/telemetry", "{\"temperature\":-19.8,\"fault\":0}")).IsSuccess);
            await Poll.UntilAsync(
                "the restored freezer alert to clear",
                () => restarted.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
                alerts => alerts.GetArrayLength() == 0, cancellationToken: Ct);
            var recent = await restarted.Http.GetFromJsonAsync<JsonElement>("api/alerts?state=recent", Ct);
            Assert.Contains(recent.EnumerateArray(), a => a.GetProperty("id").GetString() == alertId && a.GetProperty("clearedBy").GetString() == "auto");
        }
    }

    [Fact]
    public async Task Saved_alert_state_that_does_not_restore_costs_no_readings_and_shows_on_health_ready()
    {
        // A state file for lc-freezer that its engine refuses: it belongs to another sensor (restored under the wrong name).
        var foreign = new AlertEngineState("someone-else", 0, null, null, 0, new Dictionary<string, long>(), [], []);
        await new DurableFileGrainStorage(Path.Combine(spoolPath, "state"), NullLogger<DurableFileGrainStorage>.Instance)
            .WriteStateAsync("sensor", GrainId.Create("sensor", "lc-freezer"), new GrainState<SensorGrainState>(new SensorGrainState { Alerts = foreign }));

        await using var service = await StartAsync();
        using var freezer = await service.ConnectAsync("lc-freezer", MqttProtocolVersion.V500, Ct);
        using var air = await service.ConnectAsync("lc-air", MqttProtocolVersion.V500, Ct);
        var since = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(); // the database is shared with the other tests
        Assert.True((await PublishAsync(freezer, "campus/lc/lab/lc-freezer/telemetry", "{\"temperature\":-19.5,\"fault\":3}")).IsSuccess);
        Assert.True((await PublishAsync(air, "campus/lc/lab/lc-air/telemetry", "{\"temperature\":21.5}")).IsSuccess);

        var stored = await Poll.UntilAsync(
            "the new readings of lc-freezer and lc-air in InfluxDB",
            () => fixture.Influx.QueryAsync(ServiceOnInfluxV1Fixture.Database,
                $"SELECT temperature FROM telemetry WHERE (sensor = 'lc-freezer' OR sensor = 'lc-air') AND time >= {since}ms GROUP BY sensor", Ct),
            found => found.Sum(s => s.Values.Count) >= 2, cancellationToken: Ct);
        Assert.Equal([1, 1], stored.Select(s => s.Values.Count)); // one series per sensor, one reading each

        using var ready = await service.Http.GetAsync(new Uri("health/ready", UriKind.Relative), Ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        var health = JsonDocument.Parse(await ready.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        var alerts = health.GetProperty("checks").GetProperty("alerts");
        Assert.Equal("Degraded", alerts.GetProperty("status").GetString());
        Assert.Contains("sensor lc-freezer: saved state", alerts.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("someone-else", alerts.GetProperty("data").GetProperty("lc-freezer").GetString(), StringComparison.Ordinal);

        // Its alerts started afresh: the fault code still raises.
        var active = await Poll.UntilAsync(
            "the freezer-fault alert of lc-freezer to be the one active alert",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
            found => found.GetArrayLength() == 1, cancellationToken: Ct);
        Assert.StartsWith("lc-freezer/freezer-fault/", active[0].GetProperty("id").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_last_will_on_the_status_topic_takes_the_device_offline_and_is_not_a_refusal()
    {
        await using var service = await StartAsync();
        var device = new MqttClientFactory().CreateMqttClient();
        await device.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", service.MqttPort)
            .WithClientId("lc-beacon")
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithWillTopic("campus/lc/lab/lc-beacon/status")
            .WithWillPayload("offline")
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), Ct);
        Assert.True((await PublishAsync(device, "campus/lc/lab/lc-beacon/telemetry", "{\"people\":2}")).IsSuccess);

        // Gone without DISCONNECT: the broker publishes the will.
        device.Dispose();
        var gone = DateTimeOffset.UtcNow;
        var alerts = await Poll.UntilAsync(
            "an alert for lc-beacon after it disconnected",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
            found => found.EnumerateArray().Any(a => a.GetProperty("sensor").GetString() == "lc-beacon"),
            within: TimeSpan.FromSeconds(10), cancellationToken: Ct);
        var offline = alerts.EnumerateArray().Single(a => a.GetProperty("sensor").GetString() == "lc-beacon");
        Assert.Equal("offline", offline.GetProperty("rule").GetString());
        Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds(offline.GetProperty("raisedAtMs").GetInt64()) - gone, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        Assert.DoesNotContain("topic_not_allowed", (await service.RefusalTotalsAsync(Ct)).Keys);

        // Any other status word is refused with its reason.
        using var other = await service.ConnectAsync("lc-beacon-2", MqttProtocolVersion.V500, Ct);
        var refused = await PublishAsync(other, "campus/lc/lab/lc-beacon/status", "sleeping");
        Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, refused.ReasonCode);
        Assert.Contains("'online' or 'offline'", refused.ReasonString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_that_reconnects_within_the_grace_stays_online_while_its_next_reading_is_not_due()
    {
        await using var service = await StartAsync();
        using (var first = await service.ConnectAsync("lc-beacon2", MqttProtocolVersion.V500, Ct))
        {
            Assert.True((await PublishAsync(first, "campus/lc/lab/lc-beacon2/telemetry", "{\"people\":1}")).IsSuccess);
            await first.DisconnectAsync(cancellationToken: Ct);
        }

        using var again = await service.ConnectAsync("lc-beacon2", MqttProtocolVersion.V500, Ct);

        // Connected but silent (its interval is an hour) for more than twice the 1 s grace: the time span is what is
        // under test, not a wait for something to happen.
        await Task.Delay(TimeSpan.FromSeconds(2.5), Ct);
        var alerts = await service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct);
        Assert.DoesNotContain(alerts.EnumerateArray(), a => a.GetProperty("sensor").GetString() == "lc-beacon2");

        // Gone for good this time: offline after the grace.
        await again.DisconnectAsync(cancellationToken: Ct);
        await Poll.UntilAsync(
            "an alert for lc-beacon2 once it is gone for good",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
            found => found.EnumerateArray().Any(a => a.GetProperty("sensor").GetString() == "lc-beacon2"),
            within: TimeSpan.FromSeconds(10), cancellationToken: Ct);
    }

    [Fact]
    public async Task A_sensor_registered_by_a_reload_while_its_grain_is_active_goes_offline_when_silent()
    {
        var accepting = Registry.Replace("unregistered: refuse", "unregistered: accept", StringComparison.Ordinal)
            .Replace("kinds:\n", "kinds:\n  quick:\n    interval: 1s\n    metrics:\n      people: { unit: count }\n    alerts:\n      - { id: offline, type: offline, intervals: 1.5, severity: warning }\n", StringComparison.Ordinal);
        await File.WriteAllTextAsync(registryPath, accepting, Ct);
        await using var service = await StartAsync("--Campus:StateInterval=00:00:01");

        // Unregistered, accepted: its grain is active, without an alert engine or a timer.
        using (var device = await service.ConnectAsync("lc-late", MqttProtocolVersion.V500, Ct))
        {
            Assert.True((await PublishAsync(device, "campus/lc/lab/lc-late/telemetry", "{\"people\":1}")).IsSuccess);
        }

        await File.WriteAllTextAsync(registryPath, accepting + "      - id: lab3\n        sensors:\n          - { id: lc-late, kind: quick }\n", Ct);

        // The campus starts the sensor again after the reload; silent since, it is offline 1.5 intervals later.
        var alerts = await Poll.UntilAsync(
            "an alert for lc-late, silent since the reload registered it",
            () => service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
            found => found.EnumerateArray().Any(a => a.GetProperty("sensor").GetString() == "lc-late"),
            within: TimeSpan.FromSeconds(15), cancellationToken: Ct);
        Assert.Equal("offline", alerts.EnumerateArray().Single(a => a.GetProperty("sensor").GetString() == "lc-late").GetProperty("rule").GetString());
    }

    static Task<MqttClientPublishResult> PublishAsync(IMqttClient device, string topic, string payload) =>
        device.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), Ct);
}
