using Telemetry.DeviceSim.Campus;

namespace Telemetry.DeviceSim;

/// <summary>What one sensor sent and what the broker acknowledged. Written by its device only, read after the run.</summary>
public sealed class SensorTally
{
    readonly List<SensorReading>? _acknowledged;

    internal SensorTally(SensorInfo sensor, bool recordAcknowledged)
    {
        Sensor = sensor;
        _acknowledged = recordAcknowledged ? [] : null;
    }

    public SensorInfo Sensor { get; }
    public long MessagesSent { get; private set; }
    public long ReadingsSent { get; private set; }
    public long MessagesAcked { get; private set; }
    public long ReadingsAcked { get; private set; }

    /// <summary>Acknowledged readings in sending order; empty unless <see cref="SimulatorOptions.RecordAcknowledgedReadings"/>.</summary>
    public IReadOnlyList<SensorReading> AcknowledgedReadings => (IReadOnlyList<SensorReading>?)_acknowledged ?? [];

    internal void Sent(int readings)
    {
        MessagesSent++;
        ReadingsSent += readings;
    }

    internal void Acknowledged(IReadOnlyList<SensorReading> readings)
    {
        MessagesAcked++;
        ReadingsAcked += readings.Count;
        _acknowledged?.AddRange(readings);
    }
}
