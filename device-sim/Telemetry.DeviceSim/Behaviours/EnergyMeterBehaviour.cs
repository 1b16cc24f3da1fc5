namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// A building's energy meter: <c>power</c> (kW) is a base load with a daily HVAC swing plus a load that follows
/// working hours, with 2 % noise; <c>energy</c> (kWh) integrates power over time and never decreases.
/// </summary>
public sealed class EnergyMeterBehaviour(Random random) : ISensorBehaviour
{
    readonly double _baseKw = random.Between(30, 80);
    readonly double _peakKw = random.Between(100, 250);
    double _kwh = Math.Round(random.Between(50_000, 150_000));
    DateTimeOffset? _last;

    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        var kw = _baseKw * (1 + 0.15 * WorkingHours.DailyCycle(at, peakHour: 15))
                 + _peakKw * WorkingHours.Activity(at);
        kw = Math.Max(0, kw * (1 + random.Gaussian(0.02)));

        if (_last is { } last && at > last)
        {
            _kwh += kw * (at - last).TotalHours;
        }

        _last = at;
        return new Dictionary<string, double>
        {
            [MetricNames.Power] = Math.Round(kw, 2),
            [MetricNames.Energy] = Math.Round(_kwh, 3),
        };
    }
}
