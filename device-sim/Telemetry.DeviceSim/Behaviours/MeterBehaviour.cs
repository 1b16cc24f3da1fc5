using Telemetry.DeviceSim.Devices;
using Telemetry.DeviceSim.Scenarios;

namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// An electricity meter: <c>power</c> (kW) from a building load, <c>energy</c> (kWh) its integral in one-minute steps,
/// so the register never decreases. With a meter-drift fault the meter over-reads by rate % per hour since the fault
/// began (power and the energy it adds); the excess stays in the register afterwards.
/// </summary>
public sealed class MeterBehaviour(Func<DateTimeOffset, double> powerKw, double initialKwh, SensorFaults faults) : ISensorBehaviour
{
    static readonly TimeSpan Step = TimeSpan.FromMinutes(1);
    double _kwh = initialKwh;
    DateTimeOffset? _last;

    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        if (_last is { } last)
        {
            for (var t = last; t < at;)
            {
                var step = at - t < Step ? at - t : Step;
                _kwh += Math.Max(0, powerKw(t)) * Drift(t) * step.TotalHours;
                t += step;
            }
        }

        _last = at;
        return new Dictionary<string, double>
        {
            [MetricNames.Power] = Math.Round(Math.Max(0, powerKw(at)) * Drift(at), 2),
            [MetricNames.Energy] = Math.Round(_kwh, 3),
        };
    }

    double Drift(DateTimeOffset at) =>
        faults.Active(FaultType.MeterDrift, at) is { } drift ? 1 + drift.Rate / 100 * (at - drift.Start).TotalHours : 1;
}
