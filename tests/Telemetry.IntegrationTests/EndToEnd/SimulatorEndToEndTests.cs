using Telemetry.DeviceSim;

namespace Telemetry.IntegrationTests.EndToEnd;

/// <summary>The device simulator against the real service: everything it saw acknowledged is in InfluxDB.</summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class SimulatorEndToEndTests(ServiceOnInfluxV1Fixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_simulated_building_is_stored_reading_for_reading()
    {
        var simulator = new Simulator(new SimulatorOptions
        {
            Host = "127.0.0.1",
            Port = fixture.Service.MqttPort,
            Buildings = 1,
            RoomsPerBuilding = 2,
            Interval = TimeSpan.FromMilliseconds(200),
            Duration = TimeSpan.FromSeconds(3),
            Seed = 42,
            RecordAcknowledgedReadings = true,
        });
        var summary = await simulator.RunAsync(progress: null, Ct);

        Assert.True(summary.Succeeded, $"acked {summary.MessagesAcked} of {summary.MessagesSent}, failed {summary.MessagesFailed}, refused {summary.MessagesRefused}");
        Assert.Equal(11, summary.DevicesConnected);   // two rooms × four sensors + the plant room's three meters
        Assert.True(summary.ReadingsAcked >= 11 * 5, $"only {summary.ReadingsAcked} readings acknowledged");

        var acked = summary.Sensors.Values
            .SelectMany(t => t.AcknowledgedReadings.Select(r => (t.Sensor.Id, r.Timestamp.ToUnixTimeMilliseconds())))
            .Order()
            .ToList();
        var series = await Poll.UntilAsync(
            $"the {acked.Count} acknowledged readings of bldg-1 in InfluxDB",
            () => fixture.Influx.QueryAsync(ServiceOnInfluxV1Fixture.Database,
                "SELECT * FROM telemetry WHERE building = 'bldg-1' AND time > now() - 1h", Ct),
            found => found.Sum(s => s.Values.Count) >= acked.Count, cancellationToken: Ct);
        var stored = series
            .SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => (s.Get(i, "sensor").GetString()!, s.Get(i, "time").GetInt64())))
            .Order()
            .ToList();

        Assert.Equal(acked, stored);
    }
}
