using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;

namespace Telemetry.IntegrationTests.EndToEnd;

/// <summary>What the tests publish: distinct, known readings from several concurrent device clients.</summary>
public sealed record SentReading(string Building, string Room, string Sensor, long TimestampMs, double Temperature);

public static class DeviceLoad
{
    /// <summary>
    /// <paramref name="devices"/> clients publish <paramref name="perDevice"/> QoS 1 readings each, concurrently;
    /// every PUBACK must be a success. Returns what was acknowledged.
    /// </summary>
    public static async Task<IReadOnlyList<SentReading>> PublishAsync(
        TelemetryServiceHost service, string runId, int devices, int perDevice, CancellationToken ct)
    {
        var baseTs = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeMilliseconds();
        var perClient = await Task.WhenAll(Enumerable.Range(0, devices).Select(async d =>
        {
            var sensor = $"{runId}-s{d}";
            var building = $"b{d % 3}";
            var room = $"r{d}";
            using var client = await service.ConnectAsync(sensor, cancellationToken: ct);
            var sent = new List<SentReading>(perDevice);
            for (var k = 0; k < perDevice; k++)
            {
                var reading = new SentReading(building, room, sensor, baseTs + (k * 1000) + d, (d * 1000) + k + 0.25);
                var payload = string.Create(CultureInfo.InvariantCulture, $"{{\"ts\":{reading.TimestampMs},\"temperature\":{reading.Temperature}}}");
                var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic($"campus/{building}/{room}/{sensor}/telemetry")
                    .WithPayload(Encoding.UTF8.GetBytes(payload))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build(), ct);
                Assert.True(result.IsSuccess, $"{sensor} reading {k}: {result.ReasonCode} {result.ReasonString}");
                sent.Add(reading);
            }

            await client.DisconnectAsync(cancellationToken: ct);
            return sent;
        }));
        return [.. perClient.SelectMany(s => s)];
    }
}
