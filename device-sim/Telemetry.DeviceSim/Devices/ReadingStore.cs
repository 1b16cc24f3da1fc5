namespace Telemetry.DeviceSim.Devices;

/// <summary>
/// A device's local store: readings wait here while the device is disconnected and leave oldest first, as batches
/// that keep their original timestamps. When full, the oldest reading is dropped (counted in <see cref="Dropped"/>).
/// </summary>
public sealed class ReadingStore(int capacity)
{
    readonly Queue<SensorReading> _readings = new();

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));
    public int Count => _readings.Count;
    public long Dropped { get; private set; }

    public void Add(SensorReading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        if (_readings.Count == Capacity)
        {
            _readings.Dequeue();
            Dropped++;
        }

        _readings.Enqueue(reading);
    }

    /// <summary>Removes and returns up to <paramref name="max"/> of the oldest readings, in the order they were taken.</summary>
    public SensorReading[] Take(int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        var batch = new SensorReading[Math.Min(max, _readings.Count)];
        for (var i = 0; i < batch.Length; i++)
        {
            batch[i] = _readings.Dequeue();
        }

        return batch;
    }
}
