namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// A building's electrical loads, all in kW, following its rooms: lighting (a base plus 20 W a seat in rooms with
/// people), HVAC (pumps plus fans of ventilated rooms, 30 W a seat, plus 80 W a person of heating/cooling) and the
/// rest (a base, plug loads of 50 W a person, a daily swing). Mains = other + lighting + HVAC. Each load carries ±1.5 %
/// noise that changes every minute; pure functions of time, so the three meters agree.
/// </summary>
public sealed class BuildingModel(IReadOnlyList<RoomModel> rooms, int noiseKey)
{
    public IReadOnlyList<RoomModel> Rooms { get; } = rooms;

    public double LightingKw(DateTimeOffset local)
    {
        var hour = local.TimeOfDay.TotalHours;
        var kw = hour is >= 6 and < 22 ? 2 + 0.1 * Rooms.Count : 0.5 + 0.03 * Rooms.Count;
        foreach (var room in Rooms)
        {
            if (room.PeopleAt(local) > 0)
            {
                kw += 0.02 * room.Capacity;
            }
        }

        return kw * Jitter(local, 1);
    }

    public double HvacKw(DateTimeOffset local)
    {
        var kw = 4.0;
        foreach (var room in Rooms)
        {
            if (room.VentilationOn(local))
            {
                kw += 0.03 * room.Capacity + 0.08 * room.PeopleAt(local);
            }
        }

        return kw * Jitter(local, 2);
    }

    public double OtherKw(DateTimeOffset local)
    {
        var people = Rooms.Sum(room => room.PeopleAt(local));
        return (15 + 0.05 * people + 5 * Math.Max(0, WorkingHours.DailyCycle(local, peakHour: 13))) * Jitter(local, 3);
    }

    public double MainsKw(DateTimeOffset local) => OtherKw(local) + LightingKw(local) + HvacKw(local);

    double Jitter(DateTimeOffset local, int load) =>
        1 + 0.03 * (Noise.Uniform(noiseKey + load, local.ToUnixTimeSeconds() / 60) - 0.5);
}
