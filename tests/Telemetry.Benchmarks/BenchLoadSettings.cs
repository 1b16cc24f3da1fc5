using System.Globalization;

namespace Telemetry.Benchmarks;

/// <summary>
/// Service settings that let a benchmark's load in rather than refuse it: the load comes from one loopback address at
/// thousands of connections per second (far above the per-address admission meant for devices on a network), and its
/// sensors are unregistered, so the cardinality guard's new-sensor limits must cover them all (a refused QoS 1 message
/// of MQTT 3.1.1 is still acknowledged, and would be missing from InfluxDB). Capacity is measured, not admission.
/// Settings given with <c>--service-setting</c> come later on the command line and win.
/// </summary>
static class BenchLoadSettings
{
    public const string Description = "Broker:MaxNewConnectionsPerSecondPerAddress=1000000 Broker:NewConnectionBurstPerAddress=1000000; " +
                                      "Ingest:MaxNewUnregisteredSensorsPerMinute and Ingest:MaxUnregisteredSensors = 2 × the sensors (at least 100 / 10000)";

    public static string[] For(long sensors) =>
    [
        "Broker:MaxNewConnectionsPerSecondPerAddress=1000000",
        "Broker:NewConnectionBurstPerAddress=1000000",
        "Ingest:MaxNewUnregisteredSensorsPerMinute=" + Math.Clamp(sensors * 2, 100, 1_000_000).ToString(CultureInfo.InvariantCulture),
        "Ingest:MaxUnregisteredSensors=" + Math.Clamp(sensors * 2, 10_000, 10_000_000).ToString(CultureInfo.InvariantCulture),
    ];
}
