using Orleans.Concurrency;

namespace Telemetry.Contracts;

/// <summary>
/// One grain per room, keyed <c>{building}/{room}</c> (<see cref="CampusKeys.Room"/>). Its sensors report their
/// latest figures; the room answers from them and writes <c>room_state</c> every <c>Campus:StateInterval</c>.
/// </summary>
[Alias("Telemetry.IRoomGrain")]
public interface IRoomGrain : IGrainWithStringKey
{
    /// <summary>
    /// A sensor's latest figures. One-way: room figures are derived state that the next report (or the sensor's next
    /// status report) corrects, so they need no acknowledgement and must not slow the sensor's ingest path.
    /// </summary>
    [Alias("Report"), OneWay]
    Task Report(SensorReport report);

    [Alias("GetState")]
    Task<RoomState> GetState();
}

/// <summary>One grain per building, keyed by building id. Its figures are computed from its rooms' grains on demand.</summary>
[Alias("Telemetry.IBuildingGrain")]
public interface IBuildingGrain : IGrainWithStringKey
{
    [Alias("GetState")]
    Task<BuildingState> GetState(bool withRooms);
}

/// <summary>The campus grain, keyed by the campus id; computes its figures from the building grains.</summary>
[Alias("Telemetry.ICampusGrain")]
public interface ICampusGrain : IGrainWithStringKey
{
    [Alias("GetState")]
    Task<CampusState> GetState();

    /// <summary>Activates every registered building, room and sensor (so silent sensors go offline on time).</summary>
    [Alias("Start")]
    Task Start();
}

public static class CampusKeys
{
    public static string Room(string building, string room) => $"{building}/{room}";

    public static (string Building, string Room) ParseRoom(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (key, string.Empty) : (key[..slash], key[(slash + 1)..]);
    }
}

/// <summary>
/// What a registered sensor tells its room: whether it is online and its latest value of each figure it contributes
/// (null when it does not measure that figure). Power in kW, energy in kWh, whatever the sensor's own units.
/// </summary>
[GenerateSerializer, Immutable, Alias("Telemetry.SensorReport")]
public sealed record SensorReport(
    [property: Id(0)] string Sensor,
    [property: Id(1)] bool Online,
    [property: Id(2)] long LastSeenMs,
    [property: Id(3)] double? People = null,
    [property: Id(4)] double? TemperatureC = null,
    [property: Id(5)] double? HumidityPercent = null,
    [property: Id(6)] double? Co2Ppm = null,
    [property: Id(7)] double? PowerKw = null,
    [property: Id(8)] double? EnergyKwh = null);

[GenerateSerializer, Immutable, Alias("Telemetry.RoomState")]
public sealed record RoomState(
    [property: Id(0)] string Building,
    [property: Id(1)] string Room,
    [property: Id(2)] string Name,
    [property: Id(3)] string Type,
    [property: Id(4)] int Capacity,
    [property: Id(5)] double? People,
    [property: Id(6)] double? UtilisationPercent,
    [property: Id(7)] double? TemperatureC,
    [property: Id(8)] double? HumidityPercent,
    [property: Id(9)] double? Co2Ppm,
    [property: Id(10)] bool? ComfortOk,
    [property: Id(11)] IReadOnlyList<string> ComfortIssues,
    [property: Id(12)] double? PowerKw,
    [property: Id(13)] double? EnergyKwh,
    [property: Id(14)] int SensorsOnline,
    [property: Id(15)] int SensorsTotal,
    [property: Id(16)] IReadOnlyList<SensorReport> Sensors);

[GenerateSerializer, Immutable, Alias("Telemetry.BuildingState")]
public sealed record BuildingState(
    [property: Id(0)] string Building,
    [property: Id(1)] string Name,
    [property: Id(2)] double People,
    [property: Id(3)] int Capacity,
    [property: Id(4)] double? UtilisationPercent,
    [property: Id(5)] double PowerKw,
    [property: Id(6)] double? EnergyKwh,
    [property: Id(7)] int SensorsOnline,
    [property: Id(8)] int SensorsTotal,
    [property: Id(9)] int AlertsActive,
    [property: Id(10)] IReadOnlyList<RoomState> Rooms);

[GenerateSerializer, Immutable, Alias("Telemetry.CampusState")]
public sealed record CampusState(
    [property: Id(0)] string Campus,
    [property: Id(1)] string Name,
    [property: Id(2)] double People,
    [property: Id(3)] int Capacity,
    [property: Id(4)] double? UtilisationPercent,
    [property: Id(5)] double PowerKw,
    [property: Id(6)] double? EnergyKwh,
    [property: Id(7)] int DevicesOnline,
    [property: Id(8)] int DevicesTotal,
    [property: Id(9)] IReadOnlyDictionary<AlertSeverity, int> ActiveAlertsBySeverity,
    [property: Id(10)] IReadOnlyList<BuildingState> Buildings);
