using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using Telemetry.DeviceSim;
using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Scenarios;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Campus;

/// <summary>
/// Eight hours of the demo campus (deploy/campus.yaml) simulated in about 40 seconds through the real service, once
/// per test collection, with scheduled faults: a freezer failure, a stuck temperature sensor and a CO2 sensor going
/// offline. Around it: InfluxDB 1.6, a webhook receiver and an MQTT subscriber of <c>campus/alerts/#</c>, all real.
/// While the day runs, a "technician" acknowledges the freezer alert through the API as soon as it is active.
/// <para>
/// The service reads a copy of the demo registry whose reporting intervals are 1 s: the simulator sends every device's
/// 30–60 s of simulated time in 40–80 ms of wall time, and the service's offline clock runs on wall time, so an
/// interval of 1 s is what "the device reports at its interval" means for this run.
/// </para>
/// </summary>
public sealed class CampusDayFixture : IAsyncLifetime
{
    public const string CollectionName = "campus-day";
    public const string Database = "campus";

    /// <summary>The retention policy of the derived series, as <c>./run.sh</c> and compose configure it (Influx:LongRetentionPolicy).</summary>
    public const string LongRetentionPolicy = "long";
    public const string Freezer = "bldg-1-lab1-freezer1";
    public const string StuckSensor = "bldg-1-r103-temp";
    public const string OfflineSensor = "bldg-2-r102-co2";
    public const string Technician = "technician on call";
    public const double Speed = 720;
    public static readonly TimeSpan Day = TimeSpan.FromHours(8);
    public static readonly TimeSpan RegistryInterval = TimeSpan.FromSeconds(1);

    InfluxDbServer? influx;
    TelemetryServiceHost? service;
    WebhookReceiver? webhooks;
    IMqttClient? subscriber;
    string? registryDirectory;

    public InfluxDbServer Influx => influx ?? throw new InvalidOperationException("not started");

    public TelemetryServiceHost Service => service ?? throw new InvalidOperationException("not started");

    public SimulationSummary Summary { get; private set; } = null!;

    /// <summary>Wall-clock time the simulated day started and ended.</summary>
    public DateTimeOffset RunStarted { get; private set; }

    public DateTimeOffset RunEnded { get; private set; }

    /// <summary>Bodies of the webhook POSTs, in arrival order, with their signature header.</summary>
    public IReadOnlyList<WebhookCall> WebhookCalls => webhooks?.Calls ?? throw new InvalidOperationException("not started");

    /// <summary>Messages on <c>campus/alerts/#</c>: topic, payload (empty for a retained-message removal), retain flag.</summary>
    public ConcurrentQueue<(string Topic, string Payload, bool Retain)> AlertMessages { get; } = new();

    /// <summary>What the technician's acknowledgement returned (status and body), once sent.</summary>
    public (int Status, string Body)? Acknowledgement { get; private set; }

    public const string WebhookSecret = "test-secret";

    /// <summary>Two registered occupancy sensors that the simulator does not drive: the offline tests publish for them by hand.</summary>
    public const string ProbeBuildingId = "probe";

    public static readonly string[] Probes = ["probe-occ-1", "probe-occ-2"];

    const string ProbeBuilding = """

  - id: probe
    name: Offline probes
    rooms:
      - id: p1
        name: Probe room
        type: office
        capacity: 4
        sensors:
          - { id: probe-occ-1, kind: occupancy }
          - { id: probe-occ-2, kind: occupancy }

""";

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        try
        {
            influx = await InfluxDbServer.StartAsync(ct);
            await influx.CreateDatabaseAsync(Database, ct);
            await influx.CreateRetentionPolicyAsync(Database, LongRetentionPolicy, ct);
            webhooks = await WebhookReceiver.StartAsync(ct);

            var demo = RepoFile("deploy", "campus.yaml");
            registryDirectory = Directory.CreateTempSubdirectory("telemetry-it-registry-").FullName;
            var registryPath = Path.Combine(registryDirectory, "campus.yaml");
            await File.WriteAllTextAsync(registryPath, WithIntervals(await File.ReadAllTextAsync(demo, ct), RegistryInterval) + ProbeBuilding, ct);

            service = await TelemetryServiceHost.StartAsync(
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", $"--Influx:Database={Database}",
                $"--Influx:LongRetentionPolicy={LongRetentionPolicy}",
                $"--Campus:RegistryPath={registryPath}",
                "--Campus:StateInterval=00:00:01",
                "--Campus:DeviceStatusInterval=00:00:02",
                "--Campus:RollupIdleFlush=00:00:02",
                "--Alerts:Webhooks:0:Name=technicians",
                $"--Alerts:Webhooks:0:Url={webhooks.Url}",
                "--Alerts:Webhooks:0:MinSeverity=Warning",
                $"--Alerts:Webhooks:0:Secret={WebhookSecret}",
            ], ct);

            subscriber = await service.ConnectAsync("alert-watcher", MqttProtocolVersion.V500, ct);
            subscriber.ApplicationMessageReceivedAsync += args =>
            {
                AlertMessages.Enqueue((args.ApplicationMessage.Topic, args.ApplicationMessage.ConvertPayloadToString() ?? "", args.ApplicationMessage.Retain));
                return Task.CompletedTask;
            };
            await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(f => f.WithTopic("campus/alerts/#").WithRetainAsPublished(true).WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce))
                .Build(), ct);

            await RunDayAsync(demo, ct);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    async Task RunDayAsync(string demoRegistry, CancellationToken ct)
    {
        var scenario = ScenarioLoader.LoadFile(RepoFile("deploy", "scenario.yaml")).Scenario
            ?? throw new InvalidOperationException("deploy/scenario.yaml does not load");
        var simulator = new Simulator(new SimulatorOptions
        {
            Host = "127.0.0.1",
            Port = Service.MqttPort,
            Registry = RegistryFile.LoadRegistry(demoRegistry),
            Speed = Speed,
            Duration = Day / Speed,
            ProtocolVersion = MqttProtocolVersion.V500,
            Seed = 11,
            Timetable = scenario.Timetable ?? Timetable.Default,
            // No random outages: every alert of this day must come from a fault scheduled here.
            Behaviour = DeviceBehaviour.None,
            Faults =
            [
                new FaultSpec(Freezer, FaultType.FreezerFailure, TimeSpan.FromHours(2), TimeSpan.FromHours(1)),
                new FaultSpec(StuckSensor, FaultType.StuckSensor, TimeSpan.FromHours(3.5), TimeSpan.FromHours(3)),
                new FaultSpec(OfflineSensor, FaultType.Offline, TimeSpan.FromHours(5), TimeSpan.FromMinutes(45)),
                new FaultSpec("bldg-2-r105-occ", FaultType.MalformedPayloads, TimeSpan.FromHours(1), TimeSpan.FromHours(1), 0.2),
            ],
            RecordAcknowledgedReadings = true,
        });

        RunStarted = DateTimeOffset.UtcNow;
        var technician = AcknowledgeFreezerAlertAsync(ct);
        Summary = await simulator.RunAsync(progress: null, ct);
        RunEnded = DateTimeOffset.UtcNow;

        // The technician has acknowledged by now, or fails with what it last saw (its poll ends 10 s after the day).
        await technician;
    }

    /// <summary>Polls the active alerts like a technician's screen would, and acknowledges the freezer alert once.</summary>
    async Task AcknowledgeFreezerAlertAsync(CancellationToken ct)
    {
        try
        {
            var freezer = await Poll.UntilAsync(
                "the freezer alert to be active, to acknowledge it",
                async () => (await Service.Http.GetFromJsonAsync<JsonElement>("api/alerts?limit=1000", ct)).EnumerateArray()
                    .FirstOrDefault(a => a.GetProperty("sensor").GetString() == Freezer),
                alert => alert.ValueKind == JsonValueKind.Object,
                within: Day / Speed + TimeSpan.FromSeconds(10), cancellationToken: ct);
            var id = freezer.GetProperty("id").GetString()!;
            using var response = await Service.Http.PostAsJsonAsync($"api/alerts/{id}/ack", new { by = Technician, note = "on my way" }, ct);
            Acknowledgement = ((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The registry text with every kind's <c>interval:</c> replaced.</summary>
    static string WithIntervals(string yaml, TimeSpan interval) =>
        System.Text.RegularExpressions.Regex.Replace(yaml, @"(?m)^(\s+interval:\s*)\S+", m => m.Groups[1].Value + $"{(int)interval.TotalMilliseconds}ms");

    public static string RepoFile(params string[] parts)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Telemetry.sln")))
        {
            directory = directory.Parent;
        }

        return Path.Combine([directory?.FullName ?? throw new InvalidOperationException("Telemetry.sln not found above the test binaries"), .. parts]);
    }

    public async ValueTask DisposeAsync()
    {
        if (subscriber is not null)
        {
            subscriber.Dispose();
            subscriber = null;
        }

        if (service is not null)
        {
            await service.DisposeAsync();
            service = null;
        }

        if (webhooks is not null)
        {
            await webhooks.DisposeAsync();
            webhooks = null;
        }

        if (influx is not null)
        {
            await influx.DisposeAsync();
            influx = null;
        }

        if (registryDirectory is not null)
        {
            Directory.Delete(registryDirectory, recursive: true);
            registryDirectory = null;
        }

        GC.SuppressFinalize(this);
    }
}

[CollectionDefinition(CampusDayFixture.CollectionName)]
public sealed class CampusDayCollection : ICollectionFixture<CampusDayFixture>;
