using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>
/// Cardinality attacks from one MQTT 5 client against the service with a real broker and InfluxDB: invented sensor ids
/// and invented metric names are admitted only up to their limits, the rest refused with reason code Quota exceeded and
/// counted by reason, InfluxDB holds no more series or field keys than the limits allow, and a registered sensor
/// publishing during the attack has every acknowledged reading stored.
/// </summary>
public sealed class CardinalityLimitTests
{
    const int Attack = 5_000;
    const int NewPerMinute = 50;
    const int MaxUnregistered = 75;
    const int GoodReadings = 40;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static readonly string Registry = """
        campus: { id: card, name: Cardinality, timezone: UTC }
        unregistered: accept
        kinds:
          thermo:
            interval: 60s
            metrics:
              temperature: { unit: "°C" }
            alerts: []
        buildings:
          - id: card
            name: Card
            rooms:
              - id: r1
                type: lab
                capacity: 1
                sensors:
                  - { id: card-good, kind: thermo }
        """;

    static async Task<FaultRig> StartAsync(CancellationToken ct)
    {
        var registry = Path.Combine(Directory.CreateTempSubdirectory("telemetry-it-card-").FullName, "campus.yaml");
        await File.WriteAllTextAsync(registry, Registry, ct);
        return await FaultRig.StartAsync(
        [
            $"--Campus:RegistryPath={registry}",
            $"--Ingest:MaxNewUnregisteredSensorsPerMinute={NewPerMinute}",
            $"--Ingest:MaxUnregisteredSensors={MaxUnregistered}",
        ], ct);
    }

    [Fact]
    public async Task Invented_sensor_ids_beyond_the_limits_are_refused_counted_and_create_no_series()
    {
        await using var rig = await StartAsync(Ct);
        using var attacker = await ConnectAsync(rig, "card-attacker");
        using var good = await ConnectAsync(rig, "card-good");
        var before = Memory();

        var goodDevice = PublishGoodReadingsAsync(good);
        var results = await PublishManyAsync(attacker, Attack, i => ($"campus/card/r1/inv-{i}/telemetry", "{\"temperature\":1}"));
        var goodAcked = await goodDevice;

        var accepted = results.Count(r => r.ReasonCode == MqttClientPublishReasonCode.Success);
        var refused = results.Where(r => r.ReasonCode != MqttClientPublishReasonCode.Success).ToList();
        Assert.InRange(accepted, NewPerMinute, MaxUnregistered); // 50 a minute; 75 in all if the attack spans two windows
        Assert.All(refused, r => Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, r.ReasonCode));
        Assert.All(refused, r => Assert.True(
            r.ReasonString.StartsWith("too_many_new_sensors", StringComparison.Ordinal) || r.ReasonString.StartsWith("unregistered_sensor_limit", StringComparison.Ordinal),
            r.ReasonString));

        var totals = await rig.Service.RefusalTotalsAsync(Ct);
        Assert.Equal(Attack - accepted, totals.GetValueOrDefault("too_many_new_sensors") + totals.GetValueOrDefault("unregistered_sensor_limit"));
        // The exporter reads meters by name, so other services in this test process may add to the metric: at least ours.
        Assert.True(await Stored.MetricAsync(rig.Service.Http, "telemetry_mqtt_messages_refused_total", Ct, "reason=\"too_many_new_sensors\"")
            + await Stored.MetricAsync(rig.Service.Http, "telemetry_mqtt_messages_refused_total", Ct, "reason=\"unregistered_sensor_limit\"")
            >= Attack - accepted);

        var series = await Poll.UntilAsync(
            $"the {accepted} admitted invented sensors in InfluxDB",
            () => rig.Influx.QueryAsync("campus", "SELECT count(temperature) FROM telemetry WHERE sensor =~ /^inv-/ GROUP BY sensor", Ct),
            found => found.Count >= accepted, within: TimeSpan.FromSeconds(60), cancellationToken: Ct);
        Assert.Equal(accepted, series.Count);
        Assert.InRange(series.Count, 1, MaxUnregistered);

        await AssertGoodReadingsStoredAsync(rig, goodAcked);
        Report("invented sensor ids", before, Memory());
    }

    [Fact]
    public async Task Invented_metric_names_beyond_the_per_sensor_limit_are_refused_and_create_no_fields()
    {
        await using var rig = await StartAsync(Ct);
        using var attacker = await ConnectAsync(rig, "card-names");
        using var good = await ConnectAsync(rig, "card-good");
        var before = Memory();
        var limit = new Telemetry.Domain.Ingest.IngestLimits().MaxMetricsPerSensor;

        var goodDevice = PublishGoodReadingsAsync(good);
        var results = await PublishManyAsync(attacker, Attack, i => ("campus/card/r1/inv-names/telemetry", $"{{\"inv_{i}\":1}}"));
        var goodAcked = await goodDevice;

        var accepted = results.Count(r => r.ReasonCode == MqttClientPublishReasonCode.Success);
        Assert.Equal(limit, accepted);
        var refused = results.Where(r => r.ReasonCode != MqttClientPublishReasonCode.Success).ToList();
        Assert.All(refused, r => Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, r.ReasonCode));
        Assert.All(refused, r => Assert.StartsWith("sensor_metric_limit", r.ReasonString, StringComparison.Ordinal));
        Assert.Equal(Attack - limit, (await rig.Service.RefusalTotalsAsync(Ct)).GetValueOrDefault("sensor_metric_limit"));

        var fields = await Poll.UntilAsync(
            $"the {limit} admitted invented metrics as field keys in InfluxDB",
            async () => (await rig.Influx.QueryAsync("campus", "SHOW FIELD KEYS FROM telemetry", Ct))
                .SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => s.Get(i, "fieldKey").GetString()!))
                .Where(k => k.StartsWith("inv_", StringComparison.Ordinal)).ToList(),
            found => found.Count >= limit, within: TimeSpan.FromSeconds(60), cancellationToken: Ct);
        Assert.Equal(limit, fields.Count);

        await AssertGoodReadingsStoredAsync(rig, goodAcked);
        Report("invented metric names", before, Memory());
    }

    [Fact]
    public async Task A_registered_sensor_under_invented_buildings_and_rooms_is_refused_and_creates_no_series()
    {
        await using var rig = await StartAsync(Ct);
        using var device = await ConnectAsync(rig, "card-good");
        const int Messages = 1_000;

        var results = await PublishManyAsync(device, Messages, i => ($"campus/b-{Guid.NewGuid():N}/r-{i}/card-good/telemetry", $"{{\"temperature\":{i}}}"));

        Assert.All(results, r => Assert.Equal(MqttClientPublishReasonCode.TopicNameInvalid, r.ReasonCode));
        Assert.All(results, r => Assert.StartsWith("wrong_location", r.ReasonString, StringComparison.Ordinal));
        Assert.Equal(Messages, (await rig.Service.RefusalTotalsAsync(Ct)).GetValueOrDefault("wrong_location"));

        // The registry's location is accepted; InfluxDB then holds that one series of the sensor and no other.
        var acked = await PublishGoodReadingsAsync(device);
        await AssertGoodReadingsStoredAsync(rig, acked);
        var series = await rig.Influx.QueryAsync("campus", "SELECT count(temperature) FROM telemetry WHERE sensor = 'card-good' GROUP BY building, room", Ct);
        var location = Assert.Single(series);
        Assert.Equal("card", location.Tags["building"]);
        Assert.Equal("r1", location.Tags["room"]);
    }

    [Fact]
    public async Task An_unregistered_sensor_under_many_buildings_and_rooms_is_bounded_per_hour()
    {
        await using var rig = await StartAsync(Ct);
        using var device = await ConnectAsync(rig, "card-wanderer");
        const int Messages = 1_000;
        var limit = new Telemetry.Domain.Ingest.IngestLimits().MaxLocationsPerSensorPerHour;

        var results = await PublishManyAsync(device, Messages, i => ($"campus/b-{i}/r-{i}/inv-wanderer/telemetry", $"{{\"temperature\":{i}}}"));

        Assert.Equal(limit, results.Count(r => r.ReasonCode == MqttClientPublishReasonCode.Success));
        var refused = results.Where(r => r.ReasonCode != MqttClientPublishReasonCode.Success).ToList();
        Assert.All(refused, r => Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, r.ReasonCode));
        Assert.All(refused, r => Assert.StartsWith("sensor_location_limit", r.ReasonString, StringComparison.Ordinal));
        Assert.Equal(Messages - limit, (await rig.Service.RefusalTotalsAsync(Ct)).GetValueOrDefault("sensor_location_limit"));

        // A location it already used this hour stays open.
        var again = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("campus/b-0/r-0/inv-wanderer/telemetry")
            .WithPayload("{\"temperature\":1}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        Assert.Equal(MqttClientPublishReasonCode.Success, again.ReasonCode);

        var series = await Poll.UntilAsync(
            $"the {limit} admitted locations of the wandering sensor in InfluxDB",
            () => rig.Influx.QueryAsync("campus", "SELECT count(temperature) FROM telemetry WHERE sensor = 'inv-wanderer' GROUP BY building, room", Ct),
            found => found.Count >= limit, within: TimeSpan.FromSeconds(60), cancellationToken: Ct);
        Assert.Equal(limit, series.Count);
    }

    /// <summary>The registered sensor publishes while the attack runs; returns the timestamps acknowledged.</summary>
    static async Task<List<long>> PublishGoodReadingsAsync(IMqttClient good)
    {
        var acked = new List<long>();
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 0; i < GoodReadings; i++)
        {
            var ts = start + i;
            var result = await good.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic("campus/card/r1/card-good/telemetry")
                .WithPayload($"{{\"ts\":{ts},\"temperature\":{i}}}")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
            Assert.Equal(MqttClientPublishReasonCode.Success, result.ReasonCode);
            acked.Add(ts);
        }

        return acked;
    }

    static async Task AssertGoodReadingsStoredAsync(FaultRig rig, List<long> acked)
    {
        var stored = await Poll.UntilAsync(
            "every acknowledged reading of the registered sensor in InfluxDB",
            async () => (await rig.Influx.QueryAsync("campus", "SELECT temperature FROM telemetry WHERE sensor = 'card-good'", Ct))
                .SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => s.Get(i, "time").GetInt64())).ToList(),
            found => found.Count >= acked.Count, within: TimeSpan.FromSeconds(60), cancellationToken: Ct);
        Assert.Equal(acked.Order(), stored.Order());
    }

    /// <summary>Publishes <paramref name="count"/> QoS 1 messages, up to 100 in flight, and returns every PUBACK.</summary>
    static async Task<List<MqttClientPublishResult>> PublishManyAsync(IMqttClient client, int count, Func<int, (string Topic, string Payload)> message)
    {
        var results = new List<MqttClientPublishResult>(count);
        for (var start = 0; start < count; start += 100)
        {
            var batch = Enumerable.Range(start, Math.Min(100, count - start)).Select(i =>
            {
                var (topic, payload) = message(i);
                return client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
            });
            results.AddRange(await Task.WhenAll(batch));
        }

        return results;
    }

    static async Task<IMqttClient> ConnectAsync(FaultRig rig, string clientId)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", rig.Service.MqttPort)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(30))
            .Build(), Ct);
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return client;
    }

    static long Memory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>Printed, not asserted: the managed memory the attack left in this process (all test hosts in it).</summary>
    static void Report(string attack, long before, long after)
    {
        var line = $"cardinality attack ({Attack} {attack}): managed memory after a full GC {before / 1024.0 / 1024.0:F1} MB before, {after / 1024.0 / 1024.0:F1} MB after, {(after - before) / 1024.0 / 1024.0:+0.0;-0.0} MB";
        TestContext.Current.TestOutputHelper?.WriteLine(line);
    }
}
