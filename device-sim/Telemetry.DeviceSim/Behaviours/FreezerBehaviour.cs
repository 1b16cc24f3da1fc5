using Telemetry.DeviceSim.Devices;
using Telemetry.DeviceSim.Scenarios;

namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// A lab freezer at about −20 °C, simulated in 10-second steps: the compressor starts at −18 °C and stops at −22 °C;
/// running it cools about 0.25 °C a minute, stopped the freezer warms about 0.1 °C a minute (heat leaking in from the
/// 21 °C room, faster the warmer the room is against the freezer). A freezer-failure fault stops the compressor: the
/// temperature rises 0.3 °C a minute up to ambient and the fault code stays 0, so the service has to notice by threshold.
/// </summary>
public sealed class FreezerBehaviour(Random random, SensorFaults faults) : ISensorBehaviour
{
    public const double StartAt = -18, StopAt = -22, AmbientC = 21;
    public const double CoolingPerMinute = 0.35, FailureWarmingPerMinute = 0.3;
    const double LeakPerMinutePerKelvin = 0.1 / 41;
    static readonly TimeSpan Step = TimeSpan.FromSeconds(10);

    double _celsius = random.Between(-21.5, -18.5);
    bool _compressor = random.NextDouble() < 0.3;
    DateTimeOffset? _last;

    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        for (var t = _last ?? at; t < at;)
        {
            var step = at - t < Step ? at - t : Step;
            Advance(t, step.TotalMinutes);
            t += step;
        }

        if (faults.IsActive(FaultType.FreezerFailure, at))
        {
            _compressor = false;
        }

        _last = at;
        return new Dictionary<string, double>
        {
            [MetricNames.Temperature] = Math.Round(_celsius + random.Gaussian(0.05), 2),
            [MetricNames.Compressor] = _compressor ? 1 : 0,
            [MetricNames.Fault] = 0,
        };
    }

    void Advance(DateTimeOffset at, double minutes)
    {
        if (faults.IsActive(FaultType.FreezerFailure, at))
        {
            _compressor = false;
            _celsius = Math.Min(AmbientC, _celsius + FailureWarmingPerMinute * minutes);
            return;
        }

        if (_celsius >= StartAt)
        {
            _compressor = true;
        }
        else if (_celsius <= StopAt)
        {
            _compressor = false;
        }

        _celsius += (LeakPerMinutePerKelvin * (AmbientC - _celsius) - (_compressor ? CoolingPerMinute : 0)) * minutes;
    }
}
