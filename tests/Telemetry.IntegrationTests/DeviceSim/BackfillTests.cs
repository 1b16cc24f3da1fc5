using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.DeviceSim;
using Telemetry.DeviceSim.Behaviours;
using Telemetry.DeviceSim.Progress;
using Telemetry.DeviceSim.Scenarios;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.DeviceSim;

/// <summary>
/// Backfill against a real mosquitto: days of history published as fast as the broker acknowledges, with their own
/// timestamps, and the meter reset and replacement among the faults.
/// </summary>
public sealed class BackfillTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Backfill_covers_the_span_in_order_per_sensor_and_the_meters_reset_and_are_replaced()
    {
        await using var mosquitto = await MosquittoServer.StartAsync("max_queued_messages 0", Ct);
        using var subscriber = new MqttClientFactory().CreateMqttClient();
        long received = 0;
        subscriber.ApplicationMessageReceivedAsync += _ =>
        {
            Interlocked.Increment(ref received);
            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(mosquitto.Host, mosquitto.Port).WithClientId("backfill-counter").Build(), Ct);
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("campus/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);

        var span = TimeSpan.FromDays(2);
        var start = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero) - TimeSpan.FromDays(3);
        var simulator = new Simulator(new SimulatorOptions
        {
            Port = mosquitto.Port, Buildings = 1, RoomsPerBuilding = 1, Seed = 14, Start = start, Backfill = span,
            ReadingsPerMessage = 100, RecordAcknowledgedReadings = true,
            Faults =
            [
                new FaultSpec("bldg-1-plant-energy", FaultType.MeterReset, TimeSpan.FromHours(12), TimeSpan.FromMinutes(1)),
                new FaultSpec("bldg-1-plant-lighting", FaultType.MeterReplacement, TimeSpan.FromHours(30), TimeSpan.FromMinutes(10), Rate: 500),
            ],
        });

        var summary = await simulator.RunAsync(progress: null, Ct);

        Assert.True(summary.Succeeded, string.Join(", ", summary.Errors.Select(e => $"{e.Key} {e.Value}")));
        Assert.Equal(start, summary.SimulatedStart);
        Assert.Equal(start + span, summary.SimulatedEnd);
        foreach (var (sensor, tally) in summary.Sensors)
        {
            var readings = tally.AcknowledgedReadings;
            var interval = simulator.Registry.Kinds[tally.Sensor.Kind].Interval;
            Assert.True(readings.Count >= span / interval - 1, $"{sensor}: {readings.Count} readings in {span}");
            Assert.InRange(readings[0].Timestamp, start, start + interval);
            Assert.InRange(readings[^1].Timestamp, start + span - interval, start + span);
            for (var i = 1; i < readings.Count; i++)
            {
                Assert.True(readings[i].Timestamp > readings[i - 1].Timestamp, $"{sensor}: {readings[i].Timestamp:O} after {readings[i - 1].Timestamp:O}");
            }
        }

        await Poll.UntilAsync($"mosquitto to deliver the {summary.MessagesAcked} acknowledged messages", () => Task.FromResult(Interlocked.Read(ref received)),
            count => count >= summary.MessagesAcked, TimeSpan.FromSeconds(60), cancellationToken: Ct);

        // The mains register counts up to the reset, drops to about 0, and counts on.
        var mains = Energy(summary, "bldg-1-plant-energy");
        var reset = start + TimeSpan.FromHours(12);
        var beforeReset = mains.Last(r => r.At < reset).Kwh;
        var afterReset = mains.First(r => r.At >= reset).Kwh;
        Assert.True(beforeReset > 50_000, $"before the reset {beforeReset} kWh");
        Assert.InRange(afterReset, 0, 2);
        Assert.True(mains[^1].Kwh > afterReset + 100, $"after the reset the register went from {afterReset} to {mains[^1].Kwh} kWh");
        AssertNeverDecreasesExceptAt(mains, reset);

        // The lighting meter is replaced by one starting at 500 kWh.
        var lighting = Energy(summary, "bldg-1-plant-lighting");
        var replaced = start + TimeSpan.FromHours(30);
        Assert.InRange(lighting.First(r => r.At >= replaced).Kwh, 500, 501);
        Assert.True(lighting[^1].Kwh > 510, $"the new meter reached {lighting[^1].Kwh} kWh");
        AssertNeverDecreasesExceptAt(lighting, replaced);

        var faults = JsonSerializer.Deserialize<JsonElement>(FaultsWriter.ToJson(summary.Faults));
        Assert.Equal(2, faults.GetArrayLength());
        Assert.Equal("meter-reset", faults[0].GetProperty("fault").GetString());
        Assert.Equal(reset.ToUnixTimeMilliseconds(), faults[0].GetProperty("startMs").GetInt64());
        Assert.False(faults[0].TryGetProperty("rate", out _));
        Assert.Equal("meter-replacement", faults[1].GetProperty("fault").GetString());
        Assert.Equal("bldg-1-plant-lighting", faults[1].GetProperty("sensor").GetString());
        Assert.Equal(replaced.ToUnixTimeMilliseconds(), faults[1].GetProperty("startMs").GetInt64());
        Assert.Equal(500, faults[1].GetProperty("rate").GetDouble());
        Assert.True(faults[1].GetProperty("completed").GetBoolean());
    }

    static List<(DateTimeOffset At, double Kwh)> Energy(SimulationSummary summary, string sensor) =>
        [.. summary.Sensors[sensor].AcknowledgedReadings.Select(r => (r.Timestamp, r.Metrics[MetricNames.Energy]))];

    static void AssertNeverDecreasesExceptAt(List<(DateTimeOffset At, double Kwh)> register, DateTimeOffset change)
    {
        for (var i = 1; i < register.Count; i++)
        {
            if (register[i].Kwh < register[i - 1].Kwh)
            {
                Assert.True(register[i - 1].At < change && register[i].At >= change,
                    $"the register went back from {register[i - 1].Kwh} to {register[i].Kwh} at {register[i].At:O}, not at the fault ({change:O})");
            }
        }
    }
}
