using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Telemetry.DeviceSim.Mqtt;

/// <summary>
/// The payload of the service's contract: one reading as a JSON object, several as a JSON array, e.g.
/// <c>{"ts":1795860000123,"temperature":21.4}</c>. Metric values are finite doubles written round-trippably.
/// </summary>
public static class PayloadWriter
{
    public static byte[] Write(IReadOnlyList<SensorReading> readings, TimestampFormat timestamps)
    {
        ArgumentNullException.ThrowIfNull(readings);
        var buffer = new ArrayBufferWriter<byte>(64 * readings.Count);
        using (var json = new Utf8JsonWriter(buffer))
        {
            var batch = readings.Count != 1;
            if (batch)
            {
                json.WriteStartArray();
            }

            foreach (var reading in readings)
            {
                WriteReading(json, reading, timestamps);
            }

            if (batch)
            {
                json.WriteEndArray();
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    static void WriteReading(Utf8JsonWriter json, SensorReading reading, TimestampFormat timestamps)
    {
        json.WriteStartObject();
        switch (timestamps)
        {
            case TimestampFormat.EpochMilliseconds:
                json.WriteNumber("ts", reading.Timestamp.ToUnixTimeMilliseconds());
                break;
            case TimestampFormat.Rfc3339:
                json.WriteString("ts", reading.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                break;
            case TimestampFormat.None:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(timestamps), timestamps, "Unknown timestamp format.");
        }

        foreach (var (name, value) in reading.Metrics)
        {
            json.WriteNumber(name, value);
        }

        json.WriteEndObject();
    }
}
