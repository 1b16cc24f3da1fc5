using Telemetry.Broker;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Ingest;
using Telemetry.Service.Security;

namespace Telemetry.Service.Api;

/// <summary>The HTTP read API. Answers come from the grains, not from InfluxDB. Role: viewer.</summary>
public static class SensorApi
{
    /// <summary>Room grains asked at once for the sensors' online state (one call per room, not per sensor).</summary>
    const int RoomChunk = 256;

    static readonly PageOrder<RegisteredSensor> SensorOrder = Paging.ById<RegisteredSensor>(s => s.Id);

    /// <summary>
    /// <c>GET /api/sensors</c>: the registered sensors, by id, paginated, filtered by <c>building</c>, <c>room</c>,
    /// <c>kind</c> and <c>online</c> (true or false); a building, room or kind the registry does not have is 404 (a
    /// typo is not an empty campus). <c>GET /api/sensors/{sensor}</c>: the sensor's last reading, or 404 when it has
    /// not reported since the service started.
    /// </summary>
    public static WebApplication MapSensorApi(this WebApplication app)
    {
        app.MapGet("/api/sensors", async (string? building, string? room, string? kind, string? online, [AsParameters] PageQuery query,
            HttpContext http, ICampusRegistrySource registry, IGrainFactory grains) =>
        {
            if (Paging.Read(query, out var page) is { } invalid)
            {
                return invalid;
            }

            bool? wanted = null;
            if (online is not null)
            {
                if (!bool.TryParse(online, out var o))
                {
                    return Results.Problem($"online must be true or false, not '{Shown(online)}'", statusCode: StatusCodes.Status400BadRequest);
                }

                wanted = o;
            }

            var current = registry.Current;
            if (Unknown(current, building, room, kind) is { } unknown)
            {
                return Results.Problem(unknown, statusCode: StatusCodes.Status404NotFound);
            }

            var candidates = current.Sensors.Where(s =>
                (building is null || s.Building.Id == building) && (room is null || s.Room.Id == room) && (kind is null || s.Sensor.Kind == kind));
            IReadOnlyList<RegisteredSensor> items;
            IReadOnlyDictionary<string, SensorReport> reports;
            if (wanted is not { } want)
            {
                // Page first: only the rooms of this page's sensors are asked.
                items = Paging.TakeLinked(http, page, candidates, SensorOrder);
                reports = await ReportsAsync(items, grains);
            }
            else
            {
                var all = candidates.ToList();
                reports = await ReportsAsync(all, grains);
                items = Paging.TakeLinked(http, page, all.Where(s => IsOnline(s, reports) == want), SensorOrder);
            }

            return Results.Ok(items.Select(s => SensorListItem.From(s, reports.GetValueOrDefault(s.Id))).ToList());
        })
        .WithName("ListSensors")
        .WithSummary("Registered sensors by id, with their online state (paginated; filters building, room, kind, online)")
        .Produces<List<SensorListItem>>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .RequireAuthorization(ApiRoles.Viewer);

        app.MapGet("/api/sensors/{sensor}", async (string sensor, IGrainFactory grains) =>
        {
            if (sensor.Length > TelemetryTopic.MaxSegmentLength || !Text.IsPrintable(sensor))
            {
                return Results.Problem($"'{Text.Visible(sensor)}' is not a sensor id", statusCode: StatusCodes.Status400BadRequest);
            }

            var snapshot = await grains.GetGrain<ISensorGrain>(sensor).GetSnapshot();
            return snapshot is null
                ? Results.Problem($"sensor '{sensor}' has not reported since the service started", statusCode: StatusCodes.Status404NotFound)
                : Results.Ok(SensorView.From(snapshot));
        })
        .WithName("GetSensor")
        .WithSummary("A sensor's last reading")
        .Produces<SensorView>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .RequireAuthorization(ApiRoles.Viewer);
        return app;
    }

    /// <summary>What a filter names that the registry does not have; null when every filter is known.</summary>
    static string? Unknown(CampusRegistry registry, string? building, string? room, string? kind)
    {
        if (building is not null && registry.FindBuilding(building) is null)
        {
            return $"building '{Shown(building)}' is not in the campus registry";
        }

        if (room is not null && !registry.Buildings.Any(b => (building is null || b.Id == building) && b.Rooms.Any(r => r.Id == room)))
        {
            return building is null
                ? $"no building of the campus registry has a room '{Shown(room)}'"
                : $"room '{Shown(building)}/{Shown(room)}' is not in the campus registry";
        }

        return kind is not null && !registry.Kinds.ContainsKey(kind) ? $"kind '{Shown(kind)}' is not in the campus registry" : null;
    }

    /// <summary>
    /// The latest reports of <paramref name="sensors"/> from their rooms' grains (each sensor tells its room whether it
    /// is online on every change), asked per room, <see cref="RoomChunk"/> rooms at a time.
    /// </summary>
    static async Task<IReadOnlyDictionary<string, SensorReport>> ReportsAsync(IEnumerable<RegisteredSensor> sensors, IGrainFactory grains)
    {
        var rooms = sensors.Select(s => CampusKeys.Room(s.Building.Id, s.Room.Id)).Distinct(StringComparer.Ordinal).ToList();
        var reports = new Dictionary<string, SensorReport>(StringComparer.Ordinal);
        foreach (var chunk in rooms.Chunk(RoomChunk))
        {
            foreach (var state in await Task.WhenAll(chunk.Select(r => grains.GetGrain<IRoomGrain>(r).GetState())))
            {
                foreach (var report in state.Sensors)
                {
                    reports[report.Sensor] = report;
                }
            }
        }

        return reports;
    }

    static bool IsOnline(RegisteredSensor sensor, IReadOnlyDictionary<string, SensorReport> reports) =>
        reports.GetValueOrDefault(sensor.Id)?.Online == true;

    static string Shown(string text) => Text.Visible(text.Length > 64 ? text[..64] + "…" : text);

    static readonly PageOrder<RefusedMessage> RefusalOrder = new(r => r.Seq, descending: true, _ => "");

    /// <summary>
    /// <c>GET /api/refusals</c>: refused messages counted by reason (<c>totals</c>), and the most recent ones with
    /// their reasons (<c>recent</c>, newest first, paginated: <c>limit</c>, <c>after</c>, the next page in the
    /// <c>Link</c> header).
    /// </summary>
    public static WebApplication MapRefusalApi(this WebApplication app)
    {
        app.MapGet("/api/refusals", ([AsParameters] PageQuery query, HttpContext http, RefusalLog refusals) =>
        {
            if (Paging.Read(query, out var page) is { } invalid)
            {
                return invalid;
            }

            return Results.Ok(new RefusalsView(refusals.Totals, Paging.TakeLinked(http, page, refusals.Recent, RefusalOrder)));
        })
        .WithName("GetRefusals")
        .WithSummary("Refused MQTT messages: totals by reason and the most recent ones (recent paginated, newest first)")
        .Produces<RefusalsView>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .RequireAuthorization(ApiRoles.Viewer);
        return app;
    }
}

/// <summary>The JSON shape of <c>GET /api/refusals</c>.</summary>
public sealed record RefusalsView(IReadOnlyDictionary<string, long> Totals, IReadOnlyList<RefusedMessage> Recent);

/// <summary>One sensor of <c>GET /api/sensors</c>: where the registry puts it, and whether it is online (<c>lastSeenAt</c> null: not heard from since the service started).</summary>
public sealed record SensorListItem(string Sensor, string Building, string Room, string Kind, bool Online, DateTimeOffset? LastSeenAt)
{
    public static SensorListItem From(RegisteredSensor sensor, SensorReport? report)
    {
        ArgumentNullException.ThrowIfNull(sensor);
        return new SensorListItem(sensor.Id, sensor.Building.Id, sensor.Room.Id, sensor.Sensor.Kind, report?.Online == true,
            report is { LastSeenMs: > 0 } r ? DateTimeOffset.FromUnixTimeMilliseconds(r.LastSeenMs) : null);
    }
}

/// <summary>The JSON shape of <c>GET /api/sensors/{sensor}</c>.</summary>
public sealed record SensorView(
    string Sensor,
    string Building,
    string Room,
    DateTimeOffset LastReadingAt,
    IReadOnlyDictionary<string, double> Values,
    DateTimeOffset LastSeenAt,
    long Messages,
    long Readings)
{
    public static SensorView From(SensorSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return new SensorView(
            snapshot.Address.Sensor,
            snapshot.Address.Building,
            snapshot.Address.Room,
            DateTimeOffset.FromUnixTimeMilliseconds(snapshot.LastReadingMs),
            snapshot.LastValues,
            DateTimeOffset.FromUnixTimeMilliseconds(snapshot.LastSeenMs),
            snapshot.MessagesTotal,
            snapshot.ReadingsTotal);
    }
}
