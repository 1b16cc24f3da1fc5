using Telemetry.IntegrationTests.Faults;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>
/// A rolling restart, as an operator patches the machines: each of the three nodes behind HAProxy in turn is stopped
/// gracefully (SIGTERM), started again on its spool and ports and waited for until it is ready and back in the
/// balancer, while pipelined QoS 1 load runs. The devices move to the other nodes each time and keep being
/// acknowledged; the alert raised before stays open and is raised once; beacons that go silent afterwards raise their
/// offline alerts; InfluxDB holds every acknowledged reading exactly once.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class RollingRestartTests(PostgresFixture postgres)
{
    const string Run = "nl";
    const string AlertSensor = "nl-d0";
    const string AlertRule = "too-warm";
    const int SpikeIndex = 20;
    const int Total = 4000;

    static readonly string[] Beacons = ["nl-q0", "nl-q1", "nl-q2", "nl-q3", "nl-q4", "nl-q5"];

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Restarting_every_node_in_turn_under_load_loses_nothing_acknowledged_and_keeps_alerts()
    {
        await using var rig = await ClusterRig.StartAsync(postgres.Server, "rolling", NodeLossTests.Registry, [], Ct);
        await using var beacons = new Heartbeats(rig.MqttPort, Beacons.Select(s => (s, $"campus/{Run}/r2/{s}/telemetry")), TimeSpan.FromMilliseconds(300));
        var devices = NodeLossTests.LoadDevices();
        var firstTs = DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeMilliseconds();
        await using var load = PipelinedLoad.Start(() => rig.MqttPort, devices, firstTs, stepMs: 1000, Total, inflight: 4, pace: TimeSpan.FromMilliseconds(15));

        var alertId = $"{AlertSensor}/{AlertRule}/{load.Timestamp(SpikeIndex)}";
        await Poll.UntilAsync(
            $"the alert {alertId} in the API",
            () => rig.ActiveAlertsAsync(0, Ct),
            alerts => alerts.Any(a => a.Id == alertId),
            TimeSpan.FromSeconds(60),
            show: alerts => $"[{string.Join(", ", alerts.Select(a => a.Id))}]; load: {load.Describe()}",
            cancellationToken: Ct);

        string[] all = ["node1", "node2", "node3"];
        for (var node = 0; node < rig.Nodes.Count; node++)
        {
            var name = ClusterRig.NodeName(node);
            var ackedAtStop = load.Acknowledged;
            rig.Nodes[node].Process.Stop(TimeSpan.FromSeconds(30));
            await rig.WaitForBalancerAsync([.. all.Where(n => n != name)], Ct);
            await Poll.UntilAsync(
                $"readings acknowledged by the other nodes while {name} is stopped",
                () => Task.FromResult(load.Acknowledged),
                acked => acked >= ackedAtStop + 300,
                TimeSpan.FromSeconds(60),
                show: _ => load.Describe(),
                cancellationToken: Ct);

            await rig.Nodes[node].Process.StartAsync(Ct);
            await rig.WaitForMembersAsync(3, Ct);
            await rig.WaitForBalancerAsync(all, Ct);
            var other = (node + 1) % rig.Nodes.Count;
            var active = await rig.ActiveAlertsAsync(node, Ct);
            Assert.True(active.Count(a => a.Sensor == AlertSensor && a.Rule == AlertRule) == 1 && active.Any(a => a.Id == alertId),
                $"{name}'s API, after its restart, should list the one open alert {alertId}: [{string.Join(", ", active.Select(a => a.Id))}]");
            Report($"{name} restarted (graceful stop, start {rig.Nodes[node].Process.LastStartDuration.TotalSeconds:0.0} s); {ClusterRig.NodeName(other)} next; load: {load.Describe()}");
        }

        Assert.True(load.Acknowledged < (long)devices.Length * Total, $"the load ended before the last restart was over: slow the devices' pace ({load.Describe()})");

        var silentAt = await beacons.StopAsync(Beacons);
        foreach (var node in Enumerable.Range(0, rig.Nodes.Count))
        {
            await Poll.UntilAsync(
                $"an offline alert raised after the beacons went silent, for each, in {ClusterRig.NodeName(node)}'s API",
                () => rig.ActiveAlertsAsync(node, Ct),
                alerts => Beacons.All(b => alerts.Any(a => a.Sensor == b && a.Rule == "offline" && a.RaisedAtMs >= silentAt.ToUnixTimeMilliseconds())),
                TimeSpan.FromSeconds(60),
                show: alerts => $"active offline alerts: [{string.Join(", ", alerts.Where(a => a.Rule == "offline").Select(a => $"{a.Id}"))}]",
                cancellationToken: Ct);
        }

        await load.WaitUntilAllAcknowledgedAsync(TimeSpan.FromSeconds(150), Ct);
        Assert.True(load.Connects >= devices.Length * 2, $"the devices did not move between nodes: {load.Describe()}");
        await rig.AssertEveryAcknowledgedReadingStoredOnceAsync($"{Run}-d", load, Ct);

        var steps = await rig.AlertStepsAsync(AlertSensor, AlertRule, Ct);
        Assert.True(steps.GetValueOrDefault("raised")?.SequenceEqual([alertId]) == true,
            $"expected one raised step {alertId}, found {string.Join("; ", steps.Select(p => $"{p.Key}: [{string.Join(", ", p.Value)}]"))}");
        Assert.False(steps.ContainsKey("cleared"), $"the alert {alertId} was cleared: its sensor stayed above the threshold");
        Report($"done: {load.Describe()}");
    }

    static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
