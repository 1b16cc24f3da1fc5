namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// Relative humidity: a random walk (σ 0.3 % a reading) pulled towards a room's base (38–50 %) plus up to 8 % at full
/// occupancy and a ±2 % daily swing, clamped to 25–70 %.
/// </summary>
public sealed class HumidityBehaviour(RoomModel room, Random random) : ISensorBehaviour
{
    readonly double _base = random.Between(38, 50);
    double _percent = double.NaN;

    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        var target = _base + 8 * room.UtilisationAt(at) + 2 * WorkingHours.DailyCycle(at, peakHour: 6);
        _percent = double.IsNaN(_percent) ? target : _percent + (target - _percent) * 0.1 + random.Gaussian(0.3);
        _percent = Math.Clamp(_percent, 25, 70);
        return new Dictionary<string, double> { [MetricNames.Humidity] = Math.Round(_percent, 1) };
    }
}
