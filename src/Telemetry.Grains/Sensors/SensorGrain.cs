using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Telemetry.Contracts;
using Telemetry.Storage;

namespace Telemetry.Grains.Sensors;

/// <summary>
/// One activation per sensor. Hands each message's readings to the write pipeline and, once they are accepted,
/// keeps the sensor's last values. Reentrant: while one message waits for its batch to be written, the next
/// message of the same sensor is already taken, so a device with several messages in flight is not serialised
/// behind InfluxDB's round trips. State changes happen only between awaits, on the activation's single thread.
/// </summary>
[Reentrant]
public sealed class SensorGrain(ITelemetryWriter writer, ILogger<SensorGrain> logger) : Grain, ISensorGrain
{
    readonly Dictionary<string, (long TimestampMs, double Value)> lastValues = new(StringComparer.Ordinal);
    SensorAddress? address;
    long lastReadingMs = long.MinValue;
    long lastSeenMs;
    long messagesTotal;
    long readingsTotal;

    public async Task Ingest(TelemetryMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var lines = LineProtocol.ToLines(message.Address, message.Readings);
        await writer.WriteAsync(lines, CancellationToken.None);

        if (address is not null && address != message.Address)
        {
            logger.LogInformation("Sensor {Sensor} moved from {OldBuilding}/{OldRoom} to {Building}/{Room}",
                message.Address.Sensor, address.Building, address.Room, message.Address.Building, message.Address.Room);
        }

        address = message.Address;
        lastSeenMs = Math.Max(lastSeenMs, message.ReceivedAtMs);
        messagesTotal++;
        readingsTotal += message.Readings.Count;

        // Readings may arrive out of order (batches uploaded after an outage): per metric, the newest timestamp wins.
        foreach (var reading in message.Readings)
        {
            lastReadingMs = Math.Max(lastReadingMs, reading.TimestampMs);
            foreach (var metric in reading.Metrics)
            {
                if (!lastValues.TryGetValue(metric.Name, out var known) || known.TimestampMs <= reading.TimestampMs)
                {
                    lastValues[metric.Name] = (reading.TimestampMs, metric.Value);
                }
            }
        }
    }

    public Task<SensorSnapshot?> GetSnapshot() => Task.FromResult(address is null
        ? null
        : new SensorSnapshot(address, lastReadingMs, lastValues.ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal),
            lastSeenMs, messagesTotal, readingsTotal));
}
