using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.Faults;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>
/// A three-node cluster as an operator runs it, all real processes on loopback: a fresh database on the shared
/// PostgreSQL (Orleans' schema applied by <c>cluster-schema apply</c>, <c>ClusterId</c> = the database's name), one
/// InfluxDB (v1 API, database <c>campus</c>), three service processes (<see cref="ServiceProcess"/>: each its own spool
/// and ports, the same registry file; SIGKILL and restart keep both) and HAProxy on the repository's
/// <c>deploy/haproxy/haproxy.cfg</c> in front of their MQTT ports. Devices connect to <see cref="MqttPort"/>.
/// </summary>
public sealed class ClusterRig : IAsyncDisposable
{
    readonly string directory;

    ClusterRig(string directory, string database, PostgresServer postgres, InfluxDbServer influx, IReadOnlyList<ServiceProcess> nodes, HaproxyServer haproxy)
    {
        this.directory = directory;
        Database = database;
        Postgres = postgres;
        Influx = influx;
        Nodes = nodes;
        Haproxy = haproxy;
    }

    public string Database { get; }

    public PostgresServer Postgres { get; }

    public InfluxDbServer Influx { get; }

    /// <summary>node1, node2, node3 (HAProxy's names; <c>Orleans:NodeName</c> is the same).</summary>
    public IReadOnlyList<ServiceProcess> Nodes { get; }

    public HaproxyServer Haproxy { get; }

    /// <summary>Where devices connect: HAProxy.</summary>
    public int MqttPort => Haproxy.Port;

    public static string NodeName(int index) => $"node{index + 1}";

    /// <summary>
    /// Starts everything and returns once Orleans' membership table has three active nodes and HAProxy sees all three UP.
    /// </summary>
    /// <param name="postgres">The collection's PostgreSQL server.</param>
    /// <param name="name">Prefix of the database's name.</param>
    /// <param name="registry">The campus registry (YAML) every node reads.</param>
    /// <param name="settings">More service settings for every node (<c>--Section:Key=value</c>).</param>
    /// <param name="ct">Cancels the start.</param>
    public static async Task<ClusterRig> StartAsync(PostgresServer postgres, string name, string registry, IEnumerable<string> settings, CancellationToken ct)
    {
        var directory = Directory.CreateTempSubdirectory($"telemetry-it-cluster-{name}-").FullName;
        var started = new List<IAsyncDisposable>();
        try
        {
            var database = $"{name}_{Guid.NewGuid():N}";
            var connectionString = await postgres.CreateDatabaseAsync(database, ct);
            await ClusterProcesses.ApplySchemaAsync(connectionString, ct);
            var registryPath = Path.Combine(directory, "campus.yaml");
            await File.WriteAllTextAsync(registryPath, registry, ct);

            var influx = await InfluxDbServer.StartAsync(ct);
            started.Add(influx);
            await influx.CreateDatabaseAsync("campus", ct);

            string[] common =
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus", "--Influx:Timeout=00:00:02", "--Writer:MaxRetryDelay=00:00:01",
                $"--Campus:RegistryPath={registryPath}",
                "--Grains:FeedCheckpointInterval=00:00:01",
                // Behind HAProxy every device has HAProxy's address: the per-address limits are for all devices together.
                "--Broker:MaxNewConnectionsPerSecondPerAddress=5000", "--Broker:NewConnectionBurstPerAddress=5000",
                .. settings,
            ];
            var nodes = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => ServiceProcess.StartAsync(
                [.. ClusterProcesses.NodeSettings(connectionString, database, NodeName(i)), .. common], "health/ready", directory, ct)));
            started.AddRange(nodes);

            var haproxy = await HaproxyServer.StartAsync([.. nodes.Select(n => new HaproxyBackend(n.MqttPort, n.HttpUrl.Port))], ct);
            started.Add(haproxy);

            var rig = new ClusterRig(directory, database, postgres, influx, nodes, haproxy);
            await rig.WaitForMembersAsync(3, ct);
            await rig.WaitForBalancerAsync(["node1", "node2", "node3"], ct);
            return rig;
        }
        catch
        {
            foreach (var item in Enumerable.Reverse(started))
            {
                await item.DisposeAsync();
            }

            TestServer.DeleteDirectory(directory);
            throw;
        }
    }

    /// <summary>Waits until Orleans' membership table lists <paramref name="active"/> active nodes (status 3).</summary>
    public Task WaitForMembersAsync(int active, CancellationToken ct) =>
        Poll.UntilAsync(
            $"{active} nodes active in Orleans' membership table",
            MembersAsync,
            members => members.Count(m => m.EndsWith(" Active", StringComparison.Ordinal)) == active,
            within: TimeSpan.FromSeconds(90),
            show: members => string.Join(", ", members),
            cancellationToken: ct);

    /// <summary>"node1 Active", "node2 Dead", … one line per row of the membership table (a restarted node has two).</summary>
    public async Task<IReadOnlyList<string>> MembersAsync()
    {
        var rows = await Postgres.QueryAsync(Database, "SELECT hostname || ' ' || port || ' ' || status FROM orleansmembershiptable ORDER BY port, generation", CancellationToken.None);
        return [.. rows.Select(r => r ?? "").Select(r =>
        {
            var parts = r.Split(' ');
            var node = Nodes.Select((n, i) => (n, i)).FirstOrDefault(p => p.n.Process.Arguments.Contains($"--Orleans:SiloPort={parts[^2]}", StringComparer.Ordinal));
            var status = parts[^1] switch { "3" => "Active", "6" => "Dead", "5" => "Stopping", "4" => "ShuttingDown", "1" => "Created", "2" => "Joining", var s => s };
            return $"{(node.n is null ? $"port {parts[^2]}" : NodeName(node.i))} {status}";
        })];
    }

    /// <summary>Waits until HAProxy's health checks have exactly <paramref name="up"/> UP (and every other node not UP).</summary>
    public Task WaitForBalancerAsync(IReadOnlyCollection<string> up, CancellationToken ct) =>
        Poll.UntilAsync(
            $"HAProxy to see [{string.Join(", ", up)}] UP and no other node",
            () => Haproxy.ServerStatesAsync(ct),
            states => states.All(s => up.Contains(s.Key) == (s.Value.Status == "UP")),
            within: TimeSpan.FromSeconds(90),
            show: HaproxyServer.Describe,
            cancellationToken: ct);

    /// <summary>The active alerts, as node <paramref name="node"/>'s API answers: (sensor, rule, id, raisedAtMs).</summary>
    public async Task<IReadOnlyList<(string Sensor, string Rule, string Id, long RaisedAtMs)>> ActiveAlertsAsync(int node, CancellationToken ct)
    {
        var alerts = await Nodes[node].Http.GetFromJsonAsync<JsonElement>("api/alerts?limit=1000", ct);
        return [.. alerts.EnumerateArray().Select(a => (
            a.GetProperty("sensor").GetString()!, a.GetProperty("rule").GetString()!, a.GetProperty("id").GetString()!, a.GetProperty("raisedAtMs").GetInt64()))];
    }

    /// <summary>The <c>alert_id</c> of each <c>alerts</c> point of <paramref name="sensor"/>'s rule <paramref name="rule"/> in InfluxDB, by event.</summary>
    public async Task<Dictionary<string, List<string>>> AlertStepsAsync(string sensor, string rule, CancellationToken ct)
    {
        var series = await Influx.QueryAsync("campus", $"SELECT alert_id FROM alerts WHERE sensor = '{sensor}' AND \"rule\" = '{rule}' GROUP BY \"event\"", ct);
        return series.ToDictionary(s => s.Tags["event"], s => Enumerable.Range(0, s.Values.Count).Select(i => s.Get(i, "alert_id").GetString()!).ToList());
    }

    /// <summary>Lines node <paramref name="node"/>'s spool holds that InfluxDB does not have yet (its /health/ready data).</summary>
    public async Task<long> PendingLinesAsync(int node, CancellationToken ct)
    {
        using var response = await Nodes[node].Http.GetAsync(new Uri("health/ready", UriKind.Relative), ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        return body.GetProperty("checks").GetProperty("spool").GetProperty("data").GetProperty("pendingLines").GetInt64();
    }

    /// <summary>Every raw reading (sensor, timestamp) in InfluxDB of the sensors whose id starts with <paramref name="prefix"/>.</summary>
    public async Task<IReadOnlyList<(string Sensor, long Ts)>> ReadingsAsync(string prefix, CancellationToken ct)
    {
        var series = await Influx.QueryAsync("campus", $"SELECT temperature, sensor FROM telemetry WHERE sensor =~ /^{prefix}/", ct);
        return [.. series.SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => (s.Get(i, "sensor").GetString()!, s.Get(i, "time").GetInt64())))];
    }

    /// <summary>
    /// Checks InfluxDB against what the devices had acknowledged: waits until every acknowledged reading of the sensors
    /// whose id starts with <paramref name="prefix"/> (the load's devices) is stored, then requires each stored once (distinct timestamps per sensor), none that was
    /// never sent, and the per-sensor counts equal to the acknowledged ones.
    /// </summary>
    public async Task AssertEveryAcknowledgedReadingStoredOnceAsync(string prefix, PipelinedLoad load, CancellationToken ct)
    {
        var acked = load.AcknowledgedReadings;
        var stored = await Poll.UntilAsync(
            $"all {acked.Count} acknowledged readings in InfluxDB",
            () => ReadingsAsync(prefix, ct),
            found => acked.IsSubsetOf(found),
            TimeSpan.FromSeconds(90),
            show: found => $"{acked.Except(found).Count()} of {acked.Count} acknowledged readings missing, e.g. {string.Join(", ", acked.Except(found).Take(5))}",
            cancellationToken: ct);
        var twice = stored.GroupBy(r => r).Where(g => g.Count() > 1).Select(g => $"{g.Key} ×{g.Count()}").Take(5).ToList();
        Assert.True(twice.Count == 0, $"InfluxDB holds readings more than once: {string.Join(", ", twice)}");
        var neverSent = stored.Except(load.AttemptedReadings).Take(5).ToList();
        Assert.True(neverSent.Count == 0, $"InfluxDB holds readings that were never sent: {string.Join(", ", neverSent)}");
        foreach (var device in load.Devices)
        {
            var storedOf = stored.Where(r => r.Sensor == device.Sensor).Select(r => r.Ts).ToHashSet();
            var ackedOf = acked.Where(r => r.Sensor == device.Sensor).Select(r => r.Ts).ToHashSet();
            Assert.True(storedOf.SetEquals(ackedOf), $"{device.Sensor}: InfluxDB holds {storedOf.Count} distinct readings, {ackedOf.Count} were acknowledged");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Haproxy.DisposeAsync();
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Influx.DisposeAsync();
        TestServer.DeleteDirectory(directory);
    }
}

/// <summary>
/// Devices that send one reading (receive-time stamped) every <c>period</c> through the balancer until each is told to
/// stop, connecting again whenever their connection is lost: sensors whose silence the offline rule must notice.
/// </summary>
public sealed class Heartbeats : IAsyncDisposable
{
    readonly ConcurrentDictionary<string, CancellationTokenSource> stops = new();
    readonly ConcurrentDictionary<string, DateTimeOffset> stoppedAt = new();
    readonly ConcurrentDictionary<string, int> acknowledged = new();
    readonly List<Task> tasks = [];

    /// <param name="port">The balancer's MQTT port.</param>
    /// <param name="devices">(sensor, topic) of each device.</param>
    /// <param name="period">Between two readings of one device (its cadence, not a wait for anything).</param>
    public Heartbeats(int port, IEnumerable<(string Sensor, string Topic)> devices, TimeSpan period)
    {
        foreach (var (sensor, topic) in devices)
        {
            var stop = new CancellationTokenSource();
            stops[sensor] = stop;
            tasks.Add(Task.Run(() => RunAsync(port, sensor, topic, period, stop.Token)));
        }
    }

    public int AcknowledgedOf(string sensor) => acknowledged.GetValueOrDefault(sensor);

    /// <summary>Stops <paramref name="sensors"/> (at once: no further publish starts) and returns when that was.</summary>
    public async Task<DateTimeOffset> StopAsync(IEnumerable<string> sensors)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var sensor in sensors)
        {
            stoppedAt[sensor] = now;
            await stops[sensor].CancelAsync();
        }

        return now;
    }

    async Task RunAsync(int port, string sensor, string topic, TimeSpan period, CancellationToken stop)
    {
        IMqttClient? client = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (client is not { IsConnected: true })
                    {
                        client?.Dispose();
                        client = new MqttClientFactory().CreateMqttClient();
                        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(sensor)
                            .WithProtocolVersion(MqttProtocolVersion.V500).WithCleanSession(true).WithTimeout(TimeSpan.FromSeconds(5)).Build(), stop);
                    }

                    var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("""{"temperature":20.5}""")
                        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), stop);
                    if (result.ReasonCode == MqttClientPublishReasonCode.Success)
                    {
                        acknowledged.AddOrUpdate(sensor, 1, (_, n) => n + 1);
                    }
                }
                catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException && !stop.IsCancellationRequested)
                {
                    // The node behind the balancer went away: connect again at the next beat.
                }

                await Task.Delay(period, stop); // the device's cadence
            }
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException && stop.IsCancellationRequested)
        {
            // Stopped in the middle of a connect or publish (MQTTnet reports a cancelled connect as a timeout).
        }
        finally
        {
            // Stopped devices go silent without a clean DISCONNECT, like a device whose battery died.
            client?.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var stop in stops.Values)
        {
            await stop.CancelAsync();
        }

        await Task.WhenAll(tasks);
        foreach (var stop in stops.Values)
        {
            stop.Dispose();
        }
    }
}
