namespace Telemetry.DeviceSim.Behaviours;

/// <summary>The room's people counter: reports <see cref="RoomModel.PeopleAt"/> as metric <c>people</c>.</summary>
public sealed class OccupancyBehaviour(RoomModel room) : ISensorBehaviour
{
    public IReadOnlyDictionary<string, double> Sample(DateTimeOffset at) =>
        new Dictionary<string, double> { [MetricNames.People] = room.PeopleAt(at) };
}
