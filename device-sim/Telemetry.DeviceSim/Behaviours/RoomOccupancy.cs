namespace Telemetry.DeviceSim.Behaviours;

/// <summary>
/// How many people are in one room: capacity × working-hours activity × a factor in [0.7, 1.3) that changes
/// every five minutes. A pure function of time, so the room's occupancy and CO2 sensors share one instance
/// from different threads and agree.
/// </summary>
public sealed class RoomOccupancy(int capacity, int noiseKey)
{
    static readonly long BucketSeconds = 300;

    public int Capacity { get; } = capacity;

    public int PeopleAt(DateTimeOffset local)
    {
        var factor = 0.7 + 0.6 * Noise.Uniform(noiseKey, local.ToUnixTimeSeconds() / BucketSeconds);
        var people = Math.Round(Capacity * WorkingHours.Activity(local) * factor);
        return (int)Math.Clamp(people, 0, Capacity);
    }
}
