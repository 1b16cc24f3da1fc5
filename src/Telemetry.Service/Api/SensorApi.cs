using Telemetry.Broker;
using Telemetry.Contracts;
using Telemetry.Domain.Ingest;
using Telemetry.Service.Security;

namespace Telemetry.Service.Api;

/// <summary>The HTTP read API. Answers come from the grains, not from InfluxDB. Role: viewer.</summary>
public static class SensorApi
{
    /// <summary><c>GET /api/sensors/{sensor}</c>: the sensor's last reading, or 404 when it has not reported since the service started.</summary>
    public static WebApplication MapSensorApi(this WebApplication app)
    {
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
        }).RequireAuthorization(ApiRoles.Viewer);
        return app;
    }

    /// <summary><c>GET /api/refusals</c>: refused messages counted by reason, and the most recent ones with their reasons.</summary>
    public static WebApplication MapRefusalApi(this WebApplication app)
    {
        app.MapGet("/api/refusals", (RefusalLog refusals) => Results.Ok(new
        {
            totals = refusals.Totals,
            recent = refusals.Recent,
        })).RequireAuthorization(ApiRoles.Viewer);
        return app;
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
