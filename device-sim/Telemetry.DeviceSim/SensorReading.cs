namespace Telemetry.DeviceSim;

/// <summary>One reading as sent: its timestamp (distinct per sensor, whole milliseconds) and its metrics.</summary>
public sealed record SensorReading(DateTimeOffset Timestamp, IReadOnlyDictionary<string, double> Metrics);
