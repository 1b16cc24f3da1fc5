using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>
/// The service process is SIGKILLed while pipelined QoS 1 load runs, with roll-up windows open and an alert raised and
/// cleared before, then started again on the same spool and state folders. Afterwards every acknowledged reading is in
/// raw <c>telemetry</c> once, every closed <c>telemetry_1m</c> window counts exactly the raw readings of its window, and
/// the alert was raised once (in <c>alerts</c>, in the API and at the webhook): whatever the service replays to its
/// sensors after the crash, it neither loses nor counts twice what was acknowledged.
/// </summary>
/// <remarks>
/// Roll-up windows follow the readings' own timestamps (event time), so the test keeps the real 1-minute windows and
/// spaces each sensor's readings 1 s apart: 60 readings close a window in a fraction of a second of wall time.
/// </remarks>
public sealed class KillReplayTests
{
    const string Run = "kr";
    const string AlertSensor = "kr-r0";
    const string AlertRule = "too-warm";
    const int ReadingsPerWindow = 60;
    const int Windows = 12;
    const int SpikeIndex = 20;
    const double SpikeValue = 80;

    /// <summary>12 full windows and one reading more, which closes the twelfth for every sensor (registered or not).</summary>
    const int Total = (Windows * ReadingsPerWindow) + 1;

    static readonly long WindowMs = (long)TimeSpan.FromMinutes(1).TotalMilliseconds;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static readonly string Registry = $$"""
        campus: { id: {{Run}}, name: Kill and replay, timezone: UTC }
        unregistered: accept
        kinds:
          thermo:
            interval: 60s
            metrics:
              temperature: { unit: "°C" }
            alerts:
              - { id: {{AlertRule}}, type: threshold, metric: temperature, above: 50, hysteresis: 1, severity: warning }
        buildings:
          - id: {{Run}}
            name: Kill and replay
            rooms:
              - id: r1
                type: lab
                capacity: 4
                sensors:
                  - { id: kr-r0, kind: thermo }
                  - { id: kr-r1, kind: thermo }
                  - { id: kr-r2, kind: thermo }
                  - { id: kr-r3, kind: thermo }
        """;

    [Fact]
    public async Task Killed_under_pipelined_load_and_restarted_each_acknowledged_reading_is_stored_rolled_up_and_alerted_once()
    {
        var directory = Directory.CreateTempSubdirectory("telemetry-it-kill-replay-").FullName;
        try
        {
            await RunAsync(directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    static async Task RunAsync(string directory)
    {
        var registry = Path.Combine(directory, "campus.yaml");
        await File.WriteAllTextAsync(registry, Registry, Ct);
        await using var webhook = await WebhookReceiver.StartAsync(Ct);
        await using var influx = await InfluxDbServer.StartAsync(Ct);
        await influx.CreateDatabaseAsync("campus", Ct);

        // The grain state (Campus:StatePath, default data/state) and the spool live in the service's own folder, which
        // a restart of the same process keeps.
        await using var service = await ServiceProcess.StartAsync(
        [
            "--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus", "--Influx:Timeout=00:00:02", "--Writer:MaxRetryDelay=00:00:01",
            $"--Campus:RegistryPath={registry}",
            "--Alerts:Webhooks:0:Name=fault-test", $"--Alerts:Webhooks:0:Url={webhook.Url}", "--Alerts:Webhooks:0:MaxDelay=00:00:01",
        ], Ct);

        // Four registered sensors (kr-r0 crosses its threshold once, at reading 20, and is back at 21) and four
        // unregistered ones, each on its own connection with eight publishes in flight.
        var firstTs = (DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds() / WindowMs) * WindowMs;
        LoadDevice[] devices =
        [
            .. Enumerable.Range(0, 4).Select(n => new LoadDevice(
                $"{Run}-r{n}", $"campus/{Run}/r1/{Run}-r{n}/telemetry",
                i => n == 0 && i == SpikeIndex ? SpikeValue : Normal(i),
                n == 0 ? new HashSet<int> { SpikeIndex } : [])),
            .. Enumerable.Range(0, 4).Select(n => new LoadDevice(
                $"{Run}-u{n}", $"campus/{Run}/r2/{Run}-u{n}/telemetry", Normal, new HashSet<int>())),
        ];
        await using var load = PipelinedLoad.Start(() => service.MqttPort, devices, firstTs, stepMs: 1000, Total, inflight: 8, pace: TimeSpan.FromMilliseconds(8));

        // Before the kill: the alert was raised and cleared (its webhook calls arrived), and every sensor has a closed
        // window in InfluxDB while its later windows are still being filled.
        await Poll.UntilAsync(
            $"the webhook to receive {AlertSensor}/{AlertRule} raised and cleared",
            () => Task.FromResult(WebhookEvents(webhook)),
            events => events.Contains("raised") && events.Contains("cleared"),
            TimeSpan.FromSeconds(60),
            show: events => $"webhook events [{string.Join(", ", events)}]; load: {load.Describe()}",
            cancellationToken: Ct);
        await Poll.UntilAsync(
            "a telemetry_1m point of every sensor in InfluxDB",
            () => RollupsAsync(influx, Ct),
            rollups => rollups.Keys.Select(k => k.Sensor).Distinct().Count() == devices.Length,
            TimeSpan.FromSeconds(60),
            show: rollups => $"{rollups.Count} points of sensors [{string.Join(", ", rollups.Keys.Select(k => k.Sensor).Distinct().Order(StringComparer.Ordinal))}]; load: {load.Describe()}",
            cancellationToken: Ct);

        service.Process.Kill();
        var atKill = devices.ToDictionary(d => d.Sensor, d => (Acked: load.AcknowledgedOf(d.Sensor), Sent: load.HighestSentOf(d.Sensor)));
        var openAtKill = devices.ToDictionary(d => d.Sensor, d => Window(load.Timestamp(Math.Max(0, atKill[d.Sensor].Sent))));
        Report($"at the kill (acknowledged / highest index sent of {Total}): {string.Join(", ", atKill.Select(p => $"{p.Key} {p.Value.Acked}/{p.Value.Sent}"))}");
        var finished = atKill.Where(p => p.Value.Acked >= Total).Select(p => p.Key).ToList();
        Assert.True(finished.Count == 0, $"the load ended before the kill for [{string.Join(", ", finished)}]: no window was open; slow the devices' pace");

        await service.Process.StartAsync(Ct);
        await load.WaitUntilAllAcknowledgedAsync(TimeSpan.FromSeconds(90), Ct);
        Report($"load after the restart: {load.Describe()}");
        Assert.True(load.Connects > devices.Length, $"the devices never reconnected ({load.Connects} connects)");

        // Raw: every acknowledged reading (here: every reading) is stored once, nothing that was never sent.
        var acked = load.AcknowledgedReadings;
        var raw = await Poll.UntilAsync(
            $"all {acked.Count} acknowledged readings in raw telemetry",
            () => Stored.ReadingsAsync(influx, Run, Ct),
            found => acked.IsSubsetOf(found),
            TimeSpan.FromSeconds(60),
            show: found => $"{acked.Except(found).Count()} of {acked.Count} acknowledged readings missing, e.g. {string.Join(", ", acked.Except(found).Take(5))}",
            cancellationToken: Ct);
        var twice = raw.GroupBy(r => r).Where(g => g.Count() > 1).Select(g => $"{g.Key} ×{g.Count()}").Take(5).ToList();
        Assert.True(twice.Count == 0, $"raw telemetry holds readings more than once: {string.Join(", ", twice)}");
        var neverSent = raw.Except(load.AttemptedReadings).Take(5).ToList();
        Assert.True(neverSent.Count == 0, $"raw telemetry holds readings that were never sent: {string.Join(", ", neverSent)}");
        Assert.Equal(devices.Length * Total, raw.Count);
        Report($"raw telemetry: {raw.Count} readings, each once; all {acked.Count} acknowledged ones among them");

        // Roll-ups: each sensor's windows 0 … 11 are closed (reading 720 opened window 12); each must count exactly the
        // raw readings whose timestamps fall in it.
        var rawCounts = raw.GroupBy(r => (r.Sensor, Window: Window(r.Ts))).ToDictionary(g => g.Key, g => (long)g.Count());
        var expected = devices.SelectMany(d => Enumerable.Range(0, Windows).Select(w => (d.Sensor, Window: firstTs + (w * WindowMs)))).ToList();
        await Poll.UntilAsync(
            $"a telemetry_1m point for each of the {expected.Count} closed windows",
            () => RollupsAsync(influx, Ct),
            rollups => expected.All(rollups.ContainsKey),
            TimeSpan.FromSeconds(60),
            show: rollups => $"missing: {string.Join(", ", expected.Where(k => !rollups.ContainsKey(k)).Take(10).Select(k => Name(k, firstTs)))}",
            cancellationToken: Ct);

        // The alert (checked once every sensor's last window was rolled up, so everything before it in the spool was fed
        // to the sensors again): raised once and cleared once, whatever was replayed after the kill.
        var steps = await Poll.UntilAsync(
            $"the raised and cleared steps of {AlertSensor}/{AlertRule} in the alerts measurement",
            () => AlertStepsAsync(influx, Ct),
            found => found.ContainsKey("raised") && found.ContainsKey("cleared"),
            TimeSpan.FromSeconds(30),
            show: found => string.Join("; ", found.Select(p => $"{p.Key}: [{string.Join(", ", p.Value)}]")),
            cancellationToken: Ct);
        var alertId = $"{AlertSensor}/{AlertRule}/{load.Timestamp(SpikeIndex)}";
        Assert.True(steps["raised"].SequenceEqual([alertId]), $"expected one raised step {alertId} in alerts, found [{string.Join(", ", steps["raised"])}]");
        Assert.True(steps["cleared"].SequenceEqual([alertId]), $"expected one cleared step {alertId} in alerts, found [{string.Join(", ", steps["cleared"])}]");

        var active = await service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct);
        Assert.DoesNotContain(active.EnumerateArray(), a => a.GetProperty("sensor").GetString() == AlertSensor);
        var recent = await service.Http.GetFromJsonAsync<JsonElement>("api/alerts?state=recent", Ct);
        var ours = recent.EnumerateArray().Where(a => a.GetProperty("sensor").GetString() == AlertSensor).ToList();
        Assert.True(ours.Count == 1, $"expected one finished alert of {AlertSensor} in the API, found {ours.Count}: {recent.GetRawText()}");
        Assert.Equal((alertId, "cleared", "auto"), (ours[0].GetProperty("id").GetString()!, ours[0].GetProperty("state").GetString()!, ours[0].GetProperty("clearedBy").GetString()!));

        var events = WebhookEvents(webhook);
        Assert.True(events.SequenceEqual(["raised", "cleared"]), $"expected the webhook to receive raised, cleared once each; it received [{string.Join(", ", events)}]");
        Report($"alert {alertId}: alerts measurement {string.Join("; ", steps.Select(p => $"{p.Key} ×{p.Value.Count}"))}; webhook [{string.Join(", ", events)}]");

        // The counts: a window written again later (a late reading, a replay) overwrites its point, so this polls
        // briefly for the last of those writes; a count that stays wrong fails naming every wrong window.
        var rollups = await Poll.UntilAsync(
            "every closed telemetry_1m window to count the raw readings of its window",
            () => RollupsAsync(influx, Ct),
            rollups => expected.All(k => rollups.GetValueOrDefault(k) == rawCounts.GetValueOrDefault(k)),
            TimeSpan.FromSeconds(10),
            show: rollups => Mismatches(expected, rollups, rawCounts, openAtKill, firstTs),
            cancellationToken: Ct);
        Report($"telemetry_1m: {expected.Count} closed windows of {devices.Length} sensors, each counting its {ReadingsPerWindow} raw readings ({rollups.Count} points)");
    }

    /// <summary>Below the threshold and its hysteresis band at all times: 20.0 … 20.6 °C.</summary>
    static double Normal(int index) => 20 + (index % 7 / 10.0);

    static long Window(long ts) => ts - (((ts % WindowMs) + WindowMs) % WindowMs);

    static string Name((string Sensor, long Window) key, long firstTs) =>
        string.Create(CultureInfo.InvariantCulture, $"{key.Sensor} window {(key.Window - firstTs) / WindowMs}");

    /// <summary>
    /// The steps of the alert the webhook received, one per idempotency key: delivery is at least once (a kill between a
    /// POST and the outbox saving it as sent repeats that POST with the same key), and a receiver drops repeats by key.
    /// </summary>
    static List<string> WebhookEvents(WebhookReceiver webhook) =>
        [.. webhook.Calls
            .Where(c => c.Body.GetProperty("sensor").GetString() == AlertSensor && c.Body.GetProperty("rule").GetString() == AlertRule)
            .DistinctBy(c => c.IdempotencyKey)
            .Select(c => c.Body.GetProperty("event").GetString()!)];

    /// <summary>The <c>count</c> field of every <c>telemetry_1m</c> temperature point of the run, by (sensor, window start).</summary>
    static async Task<Dictionary<(string Sensor, long Window), long>> RollupsAsync(InfluxDbServer influx, CancellationToken ct)
    {
        var series = await influx.QueryAsync("campus", $"SELECT \"count\" FROM telemetry_1m WHERE sensor =~ /^{Run}-/ AND metric = 'temperature' GROUP BY sensor", ct);
        return series
            .SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => (Key: (s.Tags["sensor"], s.Get(i, "time").GetInt64()), Count: (long)s.Get(i, "count").GetDouble())))
            .ToDictionary(p => p.Key, p => p.Count);
    }

    /// <summary>The <c>alert_id</c> of each <c>alerts</c> point of the alert rule, by step.</summary>
    static async Task<Dictionary<string, List<string>>> AlertStepsAsync(InfluxDbServer influx, CancellationToken ct)
    {
        var series = await influx.QueryAsync("campus", $"SELECT alert_id FROM alerts WHERE sensor = '{AlertSensor}' AND \"rule\" = '{AlertRule}' GROUP BY \"event\"", ct);
        return series.ToDictionary(s => s.Tags["event"], s => Enumerable.Range(0, s.Values.Count).Select(i => s.Get(i, "alert_id").GetString()!).ToList());
    }

    static string Mismatches(
        IEnumerable<(string Sensor, long Window)> expected,
        Dictionary<(string Sensor, long Window), long> rollups,
        Dictionary<(string Sensor, long Window), long> rawCounts,
        Dictionary<string, long> openAtKill,
        long firstTs)
    {
        var wrong = expected
            .Where(k => rollups.GetValueOrDefault(k) != rawCounts.GetValueOrDefault(k))
            .Select(k => string.Create(CultureInfo.InvariantCulture,
                $"{Name(k, firstTs)}{(k.Window == openAtKill[k.Sensor] ? " (open at the kill)" : k.Window < openAtKill[k.Sensor] ? " (closed before the kill)" : "")}: raw {rawCounts.GetValueOrDefault(k)}, telemetry_1m count {(rollups.TryGetValue(k, out var c) ? c.ToString(CultureInfo.InvariantCulture) : "none")}"))
            .ToList();
        return $"{wrong.Count} windows count differently than raw: {string.Join("; ", wrong)}";
    }

    static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
