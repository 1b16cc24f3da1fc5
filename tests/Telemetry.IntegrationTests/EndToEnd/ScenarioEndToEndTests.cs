using MQTTnet.Formatter;
using Telemetry.DeviceSim;
using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Scenarios;
using Telemetry.Domain.Campus;

namespace Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// An accelerated scenario run against the real service: outages with store-and-forward batches, clock skew, malformed
/// payloads and a fault; every reading acknowledged is stored with its original timestamp, malformed ones are refused.
/// </summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class ScenarioEndToEndTests(ServiceOnInfluxV1Fixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_accelerated_run_with_outages_and_faults_is_stored_reading_for_reading()
    {
        const string building = "bldg-scn";
        var room = new Room("lab1", "Lab 1", "lab", 24,
            [new Sensor($"{building}-lab1-temp", "temperature"), new Sensor($"{building}-lab1-co2", "co2"), new Sensor($"{building}-lab1-occ", "occupancy"),
             new Sensor($"{building}-lab1-freezer1", "freezer"), new Sensor($"{building}-lab1-hood1", "fume-hood")]);
        var plant = new Room("plant", "Plant", "plant", 0,
            [new Sensor($"{building}-plant-energy", "energy-meter"), new Sensor($"{building}-plant-lighting", "sub-meter"), new Sensor($"{building}-plant-hvac", "sub-meter")]);
        var registry = new CampusRegistry(new CampusInfo("e2e", "E2E", "Europe/Berlin"), UnregisteredPolicy.Accept, ComfortBands.Default,
            DemoCampus.Kinds, [new Building(building, "Scenario", [room, plant])]);
        var simulator = new Simulator(new SimulatorOptions
        {
            Host = "127.0.0.1",
            Port = fixture.Service.MqttPort,
            Registry = registry,
            Speed = 120,
            Duration = TimeSpan.FromSeconds(6),
            ProtocolVersion = MqttProtocolVersion.V500,
            Seed = 3,
            Behaviour = new DeviceBehaviour
            {
                ConnectivityLossPerHour = 0.99, ConnectivityLossMin = TimeSpan.FromMinutes(2), ConnectivityLossMax = TimeSpan.FromMinutes(4),
                ClockSkewMax = TimeSpan.FromSeconds(2),
            },
            Faults = [new FaultSpec($"{building}-lab1-hood1", FaultType.MalformedPayloads, TimeSpan.Zero, TimeSpan.FromHours(1), 0.5),
                      new FaultSpec($"{building}-lab1-freezer1", FaultType.FreezerFailure, TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5))],
            RecordAcknowledgedReadings = true,
        });
        var summary = await simulator.RunAsync(progress: null, Ct);

        Assert.True(summary.Succeeded, $"acked {summary.MessagesAcked} of {summary.MessagesSent}, failed {summary.MessagesFailed}, refused {summary.MessagesRefused}");
        Assert.True(summary.ReadingsStored > 0, "no device lost connectivity");
        Assert.True(summary.MalformedRefused > 0 && summary.MalformedRefused == summary.MalformedSent,
            $"malformed: {summary.MalformedSent} sent, {summary.MalformedRefused} refused");
        var freezerFault = Assert.Single(summary.Faults, f => f.Fault == "freezer-failure");
        Assert.Equal(summary.SimulatedStart.AddMinutes(2), freezerFault.Start);
        Assert.InRange(summary.SimulatedEnd - summary.SimulatedStart, TimeSpan.FromMinutes(11), TimeSpan.FromMinutes(13));
        var freezer = summary.Sensors[$"{building}-lab1-freezer1"].AcknowledgedReadings;
        var failing = freezer.Where(r => r.Timestamp >= freezerFault.Start.AddMinutes(1) && r.Timestamp < freezerFault.End).ToList();
        Assert.NotEmpty(failing);
        Assert.All(failing, r => Assert.Equal(0, r.Metrics["compressor"]));
        Assert.True(failing[^1].Metrics["temperature"] - failing[0].Metrics["temperature"] > 0.8, "the failed freezer did not warm");

        var acked = summary.Sensors.Values
            .SelectMany(t => t.AcknowledgedReadings.Select(r => (t.Sensor.Id, r.Timestamp.ToUnixTimeMilliseconds())))
            .Order()
            .ToList();
        var series = await Poll.UntilAsync(
            $"the {acked.Count} acknowledged readings of building {building} in InfluxDB",
            () => fixture.Influx.QueryAsync(ServiceOnInfluxV1Fixture.Database,
                $"SELECT * FROM telemetry WHERE building = '{building}' AND time > now() - 1h", Ct),
            found => found.Sum(s => s.Values.Count) >= acked.Count, cancellationToken: Ct);
        var stored = series
            .SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => (s.Get(i, "sensor").GetString()!, s.Get(i, "time").GetInt64())))
            .Order()
            .ToList();

        Assert.Equal(acked, stored);
    }
}
