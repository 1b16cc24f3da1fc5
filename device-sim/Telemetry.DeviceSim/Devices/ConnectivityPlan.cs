using Telemetry.DeviceSim.Behaviours;
using Telemetry.DeviceSim.Scenarios;

namespace Telemetry.DeviceSim.Devices;

/// <summary>
/// When one device has no network, in simulated time: outages start at random (a Poisson process with the scenario's
/// chance per hour) and last between the scenario's minimum and maximum. Drawn lazily from the device's own random,
/// so for a seed the outages are the same however the run is scheduled. Queries must not go back in time.
/// </summary>
public sealed class ConnectivityPlan
{
    readonly Random _random;
    readonly DeviceBehaviour _behaviour;
    readonly double _ratePerHour;
    DateTimeOffset _outageStart, _outageEnd;

    public ConnectivityPlan(DeviceBehaviour behaviour, Random random, DateTimeOffset from)
    {
        ArgumentNullException.ThrowIfNull(behaviour);
        _behaviour = behaviour;
        _random = random;
        // A chance p per hour is a rate of -ln(1 - p) outages per hour.
        _ratePerHour = behaviour.ConnectivityLossPerHour <= 0 ? 0
            : -Math.Log(1 - Math.Min(behaviour.ConnectivityLossPerHour, 0.999));
        _outageEnd = from;
        Draw();
    }

    /// <summary>Whether the device is without network at <paramref name="at"/>.</summary>
    public bool InOutage(DateTimeOffset at)
    {
        if (_ratePerHour == 0)
        {
            return false;
        }

        while (at >= _outageEnd)
        {
            Draw();
        }

        return at >= _outageStart;
    }

    void Draw()
    {
        if (_ratePerHour == 0)
        {
            _outageStart = _outageEnd = DateTimeOffset.MaxValue;
            return;
        }

        var gapHours = -Math.Log(1 - _random.NextDouble()) / _ratePerHour;
        _outageStart = _outageEnd + TimeSpan.FromHours(Math.Min(gapHours, 24 * 365));
        var length = _random.Between(_behaviour.ConnectivityLossMin.TotalSeconds, _behaviour.ConnectivityLossMax.TotalSeconds);
        _outageEnd = _outageStart + TimeSpan.FromSeconds(Math.Max(1, length));
    }
}
