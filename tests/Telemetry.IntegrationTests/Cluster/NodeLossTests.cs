using System.Net.Http.Json;
using System.Text.Json;
using Telemetry.IntegrationTests.Faults;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>
/// Three nodes behind HAProxy under pipelined QoS 1 load from standard MQTT clients; one node is SIGKILLed. Then: the
/// devices reconnect through HAProxy and their readings keep being acknowledged; the alert raised before the kill is
/// still open (and not raised again) in the grain that now lives on a survivor, as a survivor's API says; sensors that
/// go silent at or after the kill raise their offline alerts; the readings the dead node had acknowledged wait in its
/// spool until it starts again and drains it; and InfluxDB holds every acknowledged reading exactly once.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class NodeLossTests(PostgresFixture postgres)
{
    const string Run = "nl";
    const string AlertSensor = "nl-d0";
    const string AlertRule = "too-warm";
    const int Devices = 9;
    const int SpikeIndex = 20;
    const int Total = 1500;
    const int Victim = 0;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Beacons silent from the kill on, and beacons silent once the survivors took over.</summary>
    static readonly string[] SilentAtKill = ["nl-q0", "nl-q1", "nl-q2"];
    static readonly string[] SilentAfter = ["nl-q3", "nl-q4", "nl-q5"];

    public static readonly string Registry = $$"""
        campus: { id: {{Run}}, name: Cluster node loss, timezone: UTC }
        unregistered: accept
        kinds:
          thermo:
            interval: 60s
            metrics:
              temperature: { unit: "°C" }
            alerts:
              - { id: {{AlertRule}}, type: threshold, metric: temperature, above: 50, hysteresis: 1, severity: warning }
          beacon:
            interval: 2s
            metrics:
              temperature: { unit: "°C" }
            alerts:
              - { id: offline, type: offline, intervals: 1.5, severity: warning }
        buildings:
          - id: {{Run}}
            name: Cluster
            rooms:
              - id: r1
                type: lab
                capacity: 4
                sensors:
        {{string.Join("\n", Enumerable.Range(0, Devices).Select(n => $"          - {{ id: {Run}-d{n}, kind: thermo }}"))}}
              - id: r2
                type: lab
                capacity: 4
                sensors:
        {{string.Join("\n", SilentAtKill.Concat(SilentAfter).Select(s => $"          - {{ id: {s}, kind: beacon }}"))}}
        """;

    /// <summary>The alert sensor is above its threshold from its spike on (the alert stays open); the others never are.</summary>
    public static LoadDevice[] LoadDevices() =>
    [
        .. Enumerable.Range(0, Devices).Select(n => new LoadDevice(
            $"{Run}-d{n}", $"campus/{Run}/r1/{Run}-d{n}/telemetry",
            i => n == 0 && i >= SpikeIndex ? 80 : 20 + (i % 7 / 10.0),
            n == 0 ? new HashSet<int> { SpikeIndex } : [])),
    ];

    [Fact]
    public async Task A_node_killed_under_load_loses_nothing_acknowledged_and_its_devices_sensors_and_alerts_continue_on_the_survivors()
    {
        await using var rig = await ClusterRig.StartAsync(postgres.Server, "nodeloss", Registry, [], Ct);
        var survivors = new[] { 1, 2 };

        await using var beacons = new Heartbeats(rig.MqttPort, SilentAtKill.Concat(SilentAfter).Select(s => (s, $"campus/{Run}/r2/{s}/telemetry")), TimeSpan.FromMilliseconds(300));
        var firstTs = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        await using var load = PipelinedLoad.Start(() => rig.MqttPort, LoadDevices(), firstTs, stepMs: 1000, Total, inflight: 4, pace: TimeSpan.FromMilliseconds(15));

        // Before the kill: the alert is open, and the victim holds devices.
        var alertId = $"{AlertSensor}/{AlertRule}/{load.Timestamp(SpikeIndex)}";
        await Poll.UntilAsync(
            $"the alert {alertId} in the API",
            () => rig.ActiveAlertsAsync(1, Ct),
            alerts => alerts.Any(a => a.Id == alertId),
            TimeSpan.FromSeconds(60),
            show: alerts => $"[{string.Join(", ", alerts.Select(a => a.Id))}]; load: {load.Describe()}",
            cancellationToken: Ct);
        var states = await Poll.UntilAsync(
            "HAProxy to have sessions on every node",
            () => rig.Haproxy.ServerStatesAsync(Ct),
            s => s.Values.All(v => v.Sessions > 0),
            TimeSpan.FromSeconds(30),
            show: HaproxyServer.Describe,
            cancellationToken: Ct);
        Report($"before the kill: {HaproxyServer.Describe(states)}; load: {load.Describe()}");

        // InfluxDB answers nothing for a moment, so every node's spool holds readings it acknowledged; then the victim dies.
        rig.Influx.Process.Freeze();
        var beforeFreeze = load.Acknowledged;
        await Poll.UntilAsync("300 readings acknowledged while InfluxDB is frozen", () => Task.FromResult(load.Acknowledged),
            acked => acked >= beforeFreeze + 300, TimeSpan.FromSeconds(60), show: _ => load.Describe(), cancellationToken: Ct);
        var connectsBeforeKill = load.Connects;
        rig.Nodes[Victim].Process.Kill();
        var killedAt = DateTimeOffset.UtcNow;
        var silentAt = await beacons.StopAsync(SilentAtKill);
        var ackedAtKill = load.Acknowledged;
        var sentAtKill = load.HighestSentOf(AlertSensor);
        rig.Influx.Process.Thaw();
        Report($"killed {ClusterRig.NodeName(Victim)} with {ackedAtKill} readings acknowledged ({ackedAtKill - beforeFreeze} while InfluxDB was frozen)");

        // The devices reconnect through HAProxy to the survivors, and their readings are acknowledged again.
        await rig.WaitForBalancerAsync(["node2", "node3"], Ct);
        await Poll.UntilAsync(
            "the devices to reconnect and be acknowledged again",
            () => Task.FromResult((load.Acknowledged, load.Connects)),
            p => p.Acknowledged >= ackedAtKill + 500 && p.Connects > connectsBeforeKill,
            TimeSpan.FromSeconds(90),
            show: _ => load.Describe(),
            cancellationToken: Ct);
        Report($"after the kill: {HaproxyServer.Describe(await rig.Haproxy.ServerStatesAsync(Ct))}; load: {load.Describe()}");

        // Orleans declares the victim dead; the alert sensor's grain answers from a survivor with its alert still open.
        await Poll.UntilAsync(
            "Orleans to declare the killed node dead",
            rig.MembersAsync,
            members => members.Contains("node1 Dead") && members.Count(m => m.EndsWith(" Active", StringComparison.Ordinal)) == 2,
            TimeSpan.FromSeconds(120),
            show: members => string.Join(", ", members),
            cancellationToken: Ct);
        foreach (var survivor in survivors)
        {
            await Poll.UntilAsync(
                $"{ClusterRig.NodeName(survivor)}'s API to show {AlertSensor}'s readings after the kill",
                async () =>
                {
                    using var response = await rig.Nodes[survivor].Http.GetAsync(new Uri($"api/sensors/{AlertSensor}", UriKind.Relative), Ct);
                    return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>(Ct) : default;
                },
                sensor => sensor.ValueKind == JsonValueKind.Object && sensor.GetProperty("lastReadingAt").GetDateTimeOffset().ToUnixTimeMilliseconds() > load.Timestamp(sentAtKill),
                TimeSpan.FromSeconds(90),
                show: sensor => sensor.ValueKind == JsonValueKind.Undefined ? "no answer" : sensor.GetRawText(),
                cancellationToken: Ct);
            var active = await rig.ActiveAlertsAsync(survivor, Ct);
            Assert.True(active.Count(a => a.Sensor == AlertSensor && a.Rule == AlertRule) == 1 && active.Any(a => a.Id == alertId),
                $"{ClusterRig.NodeName(survivor)}'s API should list the one open alert {alertId}: [{string.Join(", ", active.Select(a => a.Id))}]");
        }

        // Beacons silent since the kill, and beacons that go silent now, raise their offline alerts.
        var baseline = SilentAfter.ToDictionary(s => s, beacons.AcknowledgedOf);
        await Poll.UntilAsync(
            "the silent-after beacons to be acknowledged by the survivors",
            () => Task.FromResult(SilentAfter.Select(s => beacons.AcknowledgedOf(s) - baseline[s]).ToList()),
            counts => counts.All(c => c >= 3),
            TimeSpan.FromSeconds(60),
            show: counts => string.Join(", ", counts),
            cancellationToken: Ct);
        var silentAfterAt = await beacons.StopAsync(SilentAfter);
        var silentSince = SilentAtKill.Select(s => (Sensor: s, Since: silentAt)).Concat(SilentAfter.Select(s => (Sensor: s, Since: silentAfterAt))).ToList();
        // Checked while the killed node is still down (its restart would start every registered sensor again), and
        // asserted at the end, so that a missing offline alert does not hide what the later checks find.
        string? offlineMissing = null;
        try
        {
            await Poll.UntilAsync(
                "an offline alert raised after its silence began for every beacon, in both survivors' APIs",
                async () => (await rig.ActiveAlertsAsync(survivors[0], Ct)).Concat(await rig.ActiveAlertsAsync(survivors[1], Ct)).ToList(),
                alerts => Missing(alerts).Count == 0,
                TimeSpan.FromSeconds(60),
                show: alerts => $"missing: [{string.Join(", ", Missing(alerts))}]; active offline alerts: [{string.Join(", ", alerts.Where(a => a.Rule == "offline").Select(a => a.Id).Distinct())}]",
                cancellationToken: Ct);
        }
        catch (TimeoutException ex)
        {
            offlineMissing = ex.Message;
        }

        List<string> Missing(IReadOnlyList<(string Sensor, string Rule, string Id, long RaisedAtMs)> alerts) =>
            [.. silentSince
                .Where(b => alerts.Count(a => a.Sensor == b.Sensor && a.Rule == "offline" && a.RaisedAtMs >= b.Since.ToUnixTimeMilliseconds()) < survivors.Length)
                .Select(b => b.Sensor)];

        // All devices finish through the survivors. The survivors drain their spools; what is still missing in InfluxDB
        // then is what the dead node had acknowledged: it waits in its spool.
        await load.WaitUntilAllAcknowledgedAsync(TimeSpan.FromSeconds(120), Ct);
        foreach (var survivor in survivors)
        {
            await Poll.UntilAsync($"{ClusterRig.NodeName(survivor)}'s spool drained", () => rig.PendingLinesAsync(survivor, Ct),
                pending => pending == 0, TimeSpan.FromSeconds(60), cancellationToken: Ct);
        }

        var waiting = load.AcknowledgedReadings.Except(await rig.ReadingsAsync($"{Run}-d", Ct)).ToList();
        Report($"{waiting.Count} acknowledged readings not in InfluxDB while {ClusterRig.NodeName(Victim)} is down");
        Assert.True(waiting.Count > 0, "the killed node had acknowledged readings InfluxDB did not have (InfluxDB was frozen), yet none are missing");

        await rig.Nodes[Victim].Process.StartAsync(Ct);
        await rig.WaitForMembersAsync(3, Ct);
        await rig.AssertEveryAcknowledgedReadingStoredOnceAsync($"{Run}-d", load, Ct);
        await Poll.UntilAsync($"{ClusterRig.NodeName(Victim)}'s spool drained after its restart", () => rig.PendingLinesAsync(Victim, Ct),
            pending => pending == 0, TimeSpan.FromSeconds(60), cancellationToken: Ct);

        // The alert was raised once in all that time, and is still open.
        var steps = await rig.AlertStepsAsync(AlertSensor, AlertRule, Ct);
        Assert.True(steps.GetValueOrDefault("raised")?.SequenceEqual([alertId]) == true,
            $"expected one raised step {alertId}, found {string.Join("; ", steps.Select(p => $"{p.Key}: [{string.Join(", ", p.Value)}]"))}");
        Assert.False(steps.ContainsKey("cleared"), $"the alert {alertId} was cleared: its sensor stayed above the threshold");
        Report($"done: {load.Describe()}; killed at {killedAt:O}");
        Assert.True(offlineMissing is null, $"beacons silent since (or after) the kill must go offline while the killed node is down: {offlineMissing}");
    }

    static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
