using Telemetry.Domain.Campus;

namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// Makes a behaviour report exactly its registry kind's metrics: values the behaviour computes are kept (power and
/// energy scaled to W/Wh when the kind says so), <c>battery</c> drains about 1 % a simulated day from 70–100 %,
/// <c>rssi</c> scatters around −85 dBm (σ 3), and any other metric gets a plausible value for its unit.
/// </summary>
public sealed class KindMetrics(ISensorBehaviour inner, SensorKind kind, Random random) : ISensorBehaviour
{
    const double BatteryDrainPerDay = 1;
    readonly double _batteryStart = random.Between(70, 100);
    readonly Dictionary<string, double> _counters = new(StringComparer.Ordinal);
    DateTimeOffset? _first;
    DateTimeOffset _last;

    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        _first ??= at;
        var values = inner.Sample(at);
        var result = new Dictionary<string, double>(kind.Metrics.Count, StringComparer.Ordinal);
        foreach (var (name, spec) in kind.Metrics)
        {
            result[name] = values.TryGetValue(name, out var value) ? Scale(name, spec.Unit, value) : Other(name, spec.Unit, at);
        }

        _last = at;
        return result;
    }

    static double Scale(string name, string unit, double value) =>
        (name, unit) is (MetricNames.Power, "W") or (MetricNames.Energy, "Wh") ? Math.Round(value * 1000, 1) : value;

    double Other(string name, string unit, DateTimeOffset at)
    {
        switch (name)
        {
            case MetricNames.Battery:
                return Math.Round(Math.Max(5, _batteryStart - BatteryDrainPerDay * (at - _first!.Value).TotalDays), 2);
            case MetricNames.Rssi:
                return Math.Round(Math.Clamp(-85 + random.Gaussian(3), -115, -60));
            default:
                break;
        }

        return unit switch
        {
            "°C" => Math.Round(21 + random.Gaussian(0.2), 2),
            "%" => Math.Round(50 + random.Gaussian(2), 1),
            "ppm" => Math.Round(450 + random.Gaussian(10)),
            "kW" => Math.Round(5 + random.Gaussian(0.2), 2),
            "W" => Math.Round(5000 + random.Gaussian(200)),
            "kWh" or "Wh" => Counter(name, (unit == "Wh" ? 5000 : 5) * Math.Max(0, (at - _last).TotalHours)),
            "m/s" => Math.Round(0.5 + random.Gaussian(0.01), 3),
            "dBm" => Math.Round(-85 + random.Gaussian(3)),
            "count" or "code" or "state" => 0,
            _ => Math.Round(1 + random.Gaussian(0.01), 3),
        };
    }

    double Counter(string name, double increment)
    {
        var value = _counters.GetValueOrDefault(name) + (_counters.ContainsKey(name) ? increment : 0);
        _counters[name] = value;
        return Math.Round(value, 3);
    }
}
