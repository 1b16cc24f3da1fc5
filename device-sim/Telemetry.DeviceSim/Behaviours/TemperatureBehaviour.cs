namespace Telemetry.DeviceSim.Behaviours;

/// <summary>Room temperature: a set point, a daily curve of ±1.5 °C peaking mid-afternoon, plus sensor noise.</summary>
public sealed class TemperatureBehaviour(Random random) : ISensorBehaviour
{
    readonly double _setPoint = random.Between(20, 22.5);

    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        var celsius = _setPoint + 1.5 * WorkingHours.DailyCycle(at, peakHour: 15) + random.Gaussian(0.15);
        return new Dictionary<string, double> { [MetricNames.Temperature] = Math.Round(celsius, 2) };
    }
}
