using Telemetry.DeviceSim.Devices;
using Telemetry.DeviceSim.Scenarios;

namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// An electricity meter: <c>power</c> (kW) from a building load, <c>energy</c> (kWh) its integral in one-minute steps,
/// so the register never decreases — except when a meter-reset fault sets it to 0 or a meter-replacement fault to the
/// new meter's starting register, at the fault's start; it counts on from there. With a meter-drift fault the meter
/// over-reads by rate % per hour since the fault began (power and the energy it adds); the excess stays in the
/// register afterwards.
/// </summary>
public sealed class MeterBehaviour(Func<DateTimeOffset, double> powerKw, double initialKwh, SensorFaults faults) : ISensorBehaviour
{
    static readonly TimeSpan Step = TimeSpan.FromMinutes(1);
    readonly FaultWindow[] _registerChanges = [.. faults.Windows
        .Where(w => w.Fault is FaultType.MeterReset or FaultType.MeterReplacement)
        .OrderBy(w => w.Start)];
    double _kwh = initialKwh;
    DateTimeOffset? _last;

    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        var from = _last;
        foreach (var change in _registerChanges)
        {
            if (change.Start > at || (from is { } f && change.Start <= f))
            {
                continue;
            }

            // The meter counted up to the change; the register then restarts from the new value.
            Integrate(from, change.Start);
            _kwh = change.Fault == FaultType.MeterReset ? 0 : change.Rate;
            from = change.Start;
        }

        Integrate(from, at);
        _last = at;
        return new Dictionary<string, double>
        {
            [MetricNames.Power] = Math.Round(Math.Max(0, powerKw(at)) * Drift(at), 2),
            [MetricNames.Energy] = Math.Round(_kwh, 3),
        };
    }

    void Integrate(DateTimeOffset? from, DateTimeOffset to)
    {
        if (from is not { } start)
        {
            return;
        }

        for (var t = start; t < to;)
        {
            var step = to - t < Step ? to - t : Step;
            _kwh += Math.Max(0, powerKw(t)) * Drift(t) * step.TotalHours;
            t += step;
        }
    }

    double Drift(DateTimeOffset at) =>
        faults.Active(FaultType.MeterDrift, at) is { } drift ? 1 + drift.Rate / 100 * (at - drift.Start).TotalHours : 1;
}
