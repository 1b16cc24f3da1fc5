using System.ComponentModel.DataAnnotations;

namespace Telemetry.Domain.Ingest;

/// <summary>
/// Limits applied to every device message (configuration section <c>Ingest</c>):
/// <code>
/// "Ingest": {
///   "MaxPayloadBytes": 262144,
///   "MaxReadingsPerMessage": 1000,
///   "MaxMetricsPerReading": 100,
///   "MaxFutureSkew": "00:05:00",
///   "MaxAge": "30.00:00:00",
///   "MaxMetricsPerSensor": 64,
///   "MaxMetricsPerKind": 256,
///   "MaxNewUnregisteredSensorsPerMinute": 100,
///   "MaxUnregisteredSensors": 10000,
///   "MaxLocationsPerSensorPerHour": 4
/// }
/// </code>
/// The last five bound cardinality (InfluxDB series and field keys, sensor grains in memory); they are applied by
/// <see cref="CardinalityGuard"/> before a message is made durable, so a refusal never loses an acknowledged reading.
/// </summary>
public sealed class IngestLimits
{
    public const string SectionName = "Ingest";
    public const int MaxMetricNameLength = 64;

    /// <summary>Largest payload accepted, in bytes.</summary>
    public int MaxPayloadBytes { get; set; } = 256 * 1024;

    /// <summary>Most readings one message (a batch) may carry.</summary>
    public int MaxReadingsPerMessage { get; set; } = 1000;

    /// <summary>Most metrics one reading may carry.</summary>
    public int MaxMetricsPerReading { get; set; } = 100;

    /// <summary>How far ahead of the broker's clock a reading's <c>ts</c> may be.</summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How far behind the broker's clock a reading's <c>ts</c> may be (stored readings uploaded after an outage).</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Most distinct metric names one sensor may send that its kind does not list in the registry (all of an
    /// unregistered sensor's metrics count). A message that would add one more is refused (<c>sensor_metric_limit</c>).
    /// </summary>
    [Range(1, 10_000)]
    public int MaxMetricsPerSensor { get; set; } = 64;

    /// <summary>
    /// Most distinct metric names all sensors of one kind together may send that the kind does not list; the
    /// unregistered sensors form one kind of their own. Beyond it: <c>kind_metric_limit</c>.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxMetricsPerKind { get; set; } = 256;

    /// <summary>
    /// Most unregistered sensors this node admits for the first time per minute (fixed one-minute windows); beyond it
    /// a new sensor's messages are refused (<c>too_many_new_sensors</c>). Sensors already admitted, and registered
    /// sensors, are not affected.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxNewUnregisteredSensorsPerMinute { get; set; } = 100;

    /// <summary>
    /// Most unregistered sensors this node admits since it started; beyond it any further new unregistered sensor is
    /// refused (<c>unregistered_sensor_limit</c>) until the registry lists it or the service restarts.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxUnregisteredSensors { get; set; } = 10_000;

    /// <summary>
    /// Most distinct (building, room) pairs one unregistered sensor may publish under in one hour (fixed one-hour
    /// windows): each pair becomes its own InfluxDB series. A sensor that moves is fine; one more pair within the hour
    /// is refused (<c>sensor_location_limit</c>). Registered sensors publish only under their registry location
    /// (<c>wrong_location</c>), so this limit does not apply to them.
    /// </summary>
    [Range(1, 1_000)]
    public int MaxLocationsPerSensorPerHour { get; set; } = 4;
}
