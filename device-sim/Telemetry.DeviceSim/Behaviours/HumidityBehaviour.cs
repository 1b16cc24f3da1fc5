namespace Telemetry.DeviceSim.Behaviours;

/// <summary>Relative humidity: a random walk pulled gently towards 45 % and clamped to 25–70 %.</summary>
public sealed class HumidityBehaviour(Random random) : ISensorBehaviour
{
    const double Mean = 45;
    double _percent = random.Between(35, 55);

    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        _percent = Math.Clamp(_percent + (Mean - _percent) * 0.02 + random.Gaussian(0.4), 25, 70);
        return new Dictionary<string, double> { [MetricNames.Humidity] = Math.Round(_percent, 1) };
    }
}
