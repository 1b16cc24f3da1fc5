namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// CO2 concentration: relaxes towards outdoor air (420 ppm) plus 35 ppm per person in the room, with a
/// 20-minute time constant, so it climbs while a room fills and decays after people leave.
/// </summary>
public sealed class Co2Behaviour(RoomOccupancy room, Random random) : ISensorBehaviour
{
    const double OutdoorPpm = 420;
    const double PpmPerPerson = 35;
    static readonly TimeSpan TimeConstant = TimeSpan.FromMinutes(20);

    double _ppm = double.NaN;
    DateTimeOffset _last;

    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        var target = OutdoorPpm + PpmPerPerson * room.PeopleAt(at);
        if (double.IsNaN(_ppm))
        {
            _ppm = target + random.Gaussian(20);
        }
        else
        {
            var elapsed = Math.Max(0, (at - _last).TotalSeconds);
            _ppm += (target - _ppm) * (1 - Math.Exp(-elapsed / TimeConstant.TotalSeconds));
        }

        _last = at;
        var reported = Math.Max(OutdoorPpm - 30, _ppm + random.Gaussian(8));
        return new Dictionary<string, double> { [MetricNames.Co2] = Math.Round(reported) };
    }
}
