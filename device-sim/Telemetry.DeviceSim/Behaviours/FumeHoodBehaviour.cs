namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// A lab fume hood: face velocity (<c>airflow</c>) about 0.5 m/s (σ 0.015), dipping slightly as the sash opens; the
/// sash is 40–60 % open while people are in the lab and closed to 10 % otherwise; fault code 0.
/// </summary>
public sealed class FumeHoodBehaviour(RoomModel room, Random random) : ISensorBehaviour
{
    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at)
    {
        var sash = room.PeopleAt(at) > 0 ? random.Between(40, 60) : 10;
        var airflow = 0.52 - 0.0005 * sash + random.Gaussian(0.015);
        return new Dictionary<string, double>
        {
            [MetricNames.Airflow] = Math.Round(airflow, 3),
            [MetricNames.Sash] = Math.Round(sash),
            [MetricNames.Fault] = 0,
        };
    }
}
