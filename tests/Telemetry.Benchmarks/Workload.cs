using Telemetry.Contracts;
using Telemetry.Storage;

namespace Telemetry.Benchmarks;

/// <summary>
/// Realistic line protocol, made by the service's own <see cref="LineProtocol"/>: measurement <c>telemetry</c>, tags
/// building/room/sensor of a campus of 10 buildings × 100 rooms (1,000 series, sensor ids as device-sim names them),
/// fields <c>temperature</c> and <c>humidity</c>, millisecond timestamps; about 100 bytes a line.
/// <para>
/// Message <c>m</c> comes from sensor <c>m % 1000</c>; its readings are one second apart, after those of the sensor's
/// earlier messages. So every line of a run is a distinct series + timestamp: InfluxDB cannot merge two of them, and a
/// count of points equals the number of lines that arrived.
/// </para>
/// </summary>
static class Workload
{
    public const string CountedField = "temperature";
    const int Buildings = 10;
    const int RoomsPerBuilding = 100;
    const int RoomsPerFloor = 10;

    static readonly SensorAddress[] Sensors = CreateSensors();

    public static int Series => Sensors.Length;

    /// <summary>Timestamps start a day ago, on the hour; a run of n lines spans n / 1000 seconds from there.</summary>
    public static long DefaultBaseMs()
    {
        var dayAgo = DateTimeOffset.UtcNow.AddDays(-1);
        return new DateTimeOffset(dayAgo.Year, dayAgo.Month, dayAgo.Day, dayAgo.Hour, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    }

    /// <summary>The lines of message <paramref name="message"/>: <paramref name="lines"/> readings of one sensor.</summary>
    public static string[] Message(long message, int lines, int linesPerMessage, long baseMs)
    {
        var sensor = Sensors[message % Sensors.Length];
        var round = message / Sensors.Length;
        var readings = new Reading[lines];
        for (var j = 0; j < lines; j++)
        {
            var step = round * linesPerMessage + j;
            var temperature = 18 + (message * 7 + j * 3) % 80 / 10.0;
            var humidity = 35 + (message * 13 + j) % 300 / 10.0;
            readings[j] = new Reading(baseMs + step * 1000, [new Metric("temperature", temperature), new Metric("humidity", humidity)]);
        }

        return LineProtocol.ToLines(sensor, readings);
    }

    /// <summary>Messages 0..count-1 of <paramref name="linesPerMessage"/> lines each.</summary>
    public static string[][] Messages(int count, int linesPerMessage, long baseMs)
    {
        var messages = new string[count][];
        for (var m = 0; m < count; m++)
        {
            messages[m] = Message(m, linesPerMessage, linesPerMessage, baseMs);
        }

        return messages;
    }

    static SensorAddress[] CreateSensors()
    {
        var sensors = new SensorAddress[Buildings * RoomsPerBuilding];
        for (var b = 0; b < Buildings; b++)
        {
            var building = $"bldg-{b + 1}";
            for (var r = 0; r < RoomsPerBuilding; r++)
            {
                var room = $"r{r / RoomsPerFloor + 1}{r % RoomsPerFloor + 1:00}";
                sensors[b * RoomsPerBuilding + r] = new SensorAddress(building, room, $"{building}-{room}-env");
            }
        }

        return sensors;
    }
}
