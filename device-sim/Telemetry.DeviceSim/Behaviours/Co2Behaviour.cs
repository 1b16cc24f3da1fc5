namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// CO2 concentration from a well-mixed room model: each person exhales 0.5 L of CO2 a minute (in a room of 100 m³
/// that is 5 ppm a minute per person), and ventilation exchanges the air with outdoor air (420 ppm) 6 times an hour
/// while it runs, 0.5 times an hour (leakage) when it does not. A full classroom settles around 1400 ppm; CO2 rises
/// while people are in and decays towards 420 ppm after they leave, faster with ventilation on. Noise σ 5 ppm.
/// </summary>
public sealed class Co2Behaviour(RoomModel room, Random random) : ISensorBehaviour
{
    public const double OutdoorPpm = 420;
    public const double ExhaledM3PerMinute = 0.0005;
    public const double AirChangesPerHourVentilated = 6;
    public const double AirChangesPerHourLeakage = 0.5;
    static readonly TimeSpan Step = TimeSpan.FromMinutes(1);

    double _ppm = double.NaN;
    DateTimeOffset _last;

    /// <summary>The concentration the room tends to at <paramref name="at"/> with its current people and ventilation.</summary>
    public static double SteadyStatePpm(int people, double volumeM3, bool ventilated)
    {
        var airChangesPerHour = ventilated ? AirChangesPerHourVentilated : AirChangesPerHourLeakage;
        return OutdoorPpm + people * ExhaledM3PerMinute * 60 / (airChangesPerHour * volumeM3) * 1e6;
    }

    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        if (double.IsNaN(_ppm))
        {
            _ppm = SteadyStatePpm(room.PeopleAt(at), room.VolumeM3, room.VentilationOn(at));
        }
        else
        {
            for (var t = _last; t < at;)
            {
                var step = at - t < Step ? at - t : Step;
                var ventilated = room.VentilationOn(t);
                var steady = SteadyStatePpm(room.PeopleAt(t), room.VolumeM3, ventilated);
                var airChangesPerHour = ventilated ? AirChangesPerHourVentilated : AirChangesPerHourLeakage;
                _ppm = steady + (_ppm - steady) * Math.Exp(-airChangesPerHour * step.TotalHours);
                t += step;
            }
        }

        _last = at;
        return new Dictionary<string, double> { [MetricNames.Co2] = Math.Round(Math.Max(390, _ppm + random.Gaussian(5))) };
    }
}
