namespace Telemetry.Contracts;

/// <summary>Where a sensor is: the three variable segments of its telemetry topic.</summary>
[GenerateSerializer, Immutable, Alias("Telemetry.SensorAddress")]
public sealed record SensorAddress(
    [property: Id(0)] string Building,
    [property: Id(1)] string Room,
    [property: Id(2)] string Sensor);

/// <summary>One named numeric value of a reading.</summary>
[GenerateSerializer, Immutable, Alias("Telemetry.Metric")]
public readonly record struct Metric(
    [property: Id(0)] string Name,
    [property: Id(1)] double Value);

/// <summary>One reading of a sensor: its timestamp (Unix epoch milliseconds, UTC) and its metrics.</summary>
[GenerateSerializer, Immutable, Alias("Telemetry.Reading")]
public sealed record Reading(
    [property: Id(0)] long TimestampMs,
    [property: Id(1)] IReadOnlyList<Metric> Metrics);

/// <summary>
/// The readings of one accepted MQTT message, addressed to one sensor.
/// <paramref name="ReceivedAtMs"/> is the broker's receive time (Unix epoch milliseconds).
/// </summary>
[GenerateSerializer, Immutable, Alias("Telemetry.TelemetryMessage")]
public sealed record TelemetryMessage(
    [property: Id(0)] SensorAddress Address,
    [property: Id(1)] IReadOnlyList<Reading> Readings,
    [property: Id(2)] long ReceivedAtMs);

/// <summary>A message durable in a spool, with the position of its record's end there.</summary>
[GenerateSerializer, Immutable, Alias("Telemetry.FedMessage")]
public sealed record FedMessage(
    [property: Id(0)] long Segment,
    [property: Id(1)] long Offset,
    [property: Id(2)] TelemetryMessage Message);

/// <summary>
/// A sensor's messages read from the spool <paramref name="SpoolId"/> by its node's grain feeder, in spool order.
/// <paramref name="HandedBefore"/>: the position of the last message of that spool the feeder handed this sensor
/// before this batch since the feed's consumed position (null when none): a grain whose position is behind it lost
/// messages (its node died before it saved them) and sets the batch aside until the feeder rewinds.
/// </summary>
[GenerateSerializer, Immutable, Alias("Telemetry.FeedBatch")]
public sealed record FeedBatch(
    [property: Id(0)] string SpoolId,
    [property: Id(1)] IReadOnlyList<FedMessage> Messages,
    [property: Id(2)] FeedPosition? HandedBefore = null);

/// <summary>A position in one node's spool (a segment and a byte offset in it), as the grain feed hands it to grains.</summary>
[GenerateSerializer, Immutable, Alias("Telemetry.FeedPosition")]
public sealed record FeedPosition(
    [property: Id(0)] long Segment,
    [property: Id(1)] long Offset);

/// <summary>What a sensor grain knows about its sensor.</summary>
[GenerateSerializer, Immutable, Alias("Telemetry.SensorSnapshot")]
public sealed record SensorSnapshot(
    [property: Id(0)] SensorAddress Address,
    [property: Id(1)] long LastReadingMs,
    [property: Id(2)] IReadOnlyDictionary<string, double> LastValues,
    [property: Id(3)] long LastSeenMs,
    [property: Id(4)] long MessagesTotal,
    [property: Id(5)] long ReadingsTotal);
