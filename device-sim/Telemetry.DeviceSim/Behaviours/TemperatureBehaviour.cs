namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// Room air temperature: relaxes (30-minute time constant) towards a set point (20.5–22 °C) plus a daily swing of
/// ±0.8 °C peaking mid-afternoon, plus up to 3 °C of people's heat at full occupancy, 1.5 °C lower while the room is
/// not ventilated (night set-back); sensor noise σ 0.1 °C.
/// </summary>
public sealed class TemperatureBehaviour(RoomModel room, Random random) : ISensorBehaviour
{
    static readonly TimeSpan TimeConstant = TimeSpan.FromMinutes(30);
    readonly double _setPoint = random.Between(20.5, 22);
    double _celsius = double.NaN;
    DateTimeOffset _last;

    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        var target = _setPoint + 0.8 * WorkingHours.DailyCycle(at, peakHour: 15) + 3 * room.UtilisationAt(at)
                     - (room.VentilationOn(at) ? 0 : 1.5);
        _celsius = double.IsNaN(_celsius)
            ? target
            : _celsius + (target - _celsius) * (1 - Math.Exp(-Math.Max(0, (at - _last).TotalSeconds) / TimeConstant.TotalSeconds));
        _last = at;
        return new Dictionary<string, double> { [MetricNames.Temperature] = Math.Round(_celsius + random.Gaussian(0.1), 2) };
    }
}
