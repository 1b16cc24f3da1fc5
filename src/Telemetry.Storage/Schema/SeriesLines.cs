using System.Globalization;
using InfluxDB.Client.Writes;
using Telemetry.Contracts;
using Telemetry.Domain.Schema;

namespace Telemetry.Storage.Schema;

/// <summary>
/// The derived series of docs/schema.md, one method per measurement, so the schema lives in one place. Lines go
/// through the same spool as raw readings. Numeric fields are always floats (field types must never conflict);
/// absent figures (a room without a CO2 sensor) are left out rather than written as zero.
/// </summary>
public static class SeriesLines
{
    public const string Rollup = "telemetry_1m";
    public const string RoomState = "room_state";
    public const string BuildingState = "building_state";
    public const string CampusState = "campus_state";
    public const string DeviceStatus = "device_status";
    public const string Alerts = "alerts";
    public const string ServiceStats = "service_stats";
    public const string Refusals = "refusals";

    /// <summary>The measurements kept in the long-retention policy or bucket when one is configured.</summary>
    public static IReadOnlySet<string> LongRetention { get; } = new HashSet<string>(
        [Rollup, RoomState, BuildingState, CampusState, Alerts, .. ReportLines.Measurements], StringComparer.Ordinal);

    public static string RollupWindow(
        SensorAddress address, string kind, string metric, long windowStartMs,
        double min, double max, double mean, long count, double last)
    {
        ArgumentNullException.ThrowIfNull(address);
        return SensorWindow(Rollup, address.Building, address.Room, address.Sensor, kind, metric, windowStartMs, min, max, mean, count, last);
    }

    /// <summary>
    /// A point of one sensor's metric over a window (<c>telemetry_1m</c>, and the report's <c>telemetry_1h/1d</c>):
    /// where the sensor is, its kind and metric as tags; min, max, mean, count and last as fields; the window's start as time.
    /// </summary>
    internal static string SensorWindow(
        string measurement, string building, string room, string sensor, string kind, string metric, long windowStartMs,
        double min, double max, double mean, long count, double last) =>
        Line(PointData.Measurement(measurement)
            .Tag(TagKeys.Building, building)
            .Tag(TagKeys.Room, room)
            .Tag(TagKeys.Sensor, sensor)
            .Tag(TagKeys.Kind, kind)
            .Tag(TagKeys.Metric, metric)
            .Field("min", min)
            .Field("max", max)
            .Field("mean", mean)
            .Field("count", (double)count)
            .Field("last", last)
            .Timestamp(windowStartMs, LineProtocol.Precision));

    public static string Room(RoomState state, long atMs)
    {
        ArgumentNullException.ThrowIfNull(state);
        var point = PointData.Measurement(RoomState)
            .Tag(TagKeys.Building, state.Building)
            .Tag(TagKeys.Room, state.Room)
            .Tag(TagKeys.RoomType, string.IsNullOrEmpty(state.Type) ? null : state.Type)
            .Field("capacity", (double)state.Capacity)
            .Field("sensors_online", (double)state.SensorsOnline)
            .Field("sensors_total", (double)state.SensorsTotal)
            .Timestamp(atMs, LineProtocol.Precision);
        point = Optional(point, "people", state.People);
        point = Optional(point, "utilisation", state.UtilisationPercent);
        point = Optional(point, "temperature", state.TemperatureC);
        point = Optional(point, "humidity", state.HumidityPercent);
        point = Optional(point, "co2", state.Co2Ppm);
        point = Optional(point, "comfort_ok", state.ComfortOk is { } ok ? (ok ? 1 : 0) : null);
        point = Optional(point, "power_kw", state.PowerKw);
        point = Optional(point, "energy_kwh", state.EnergyKwh);
        return Line(point);
    }

    public static string Building(BuildingState state, long atMs)
    {
        ArgumentNullException.ThrowIfNull(state);
        var point = PointData.Measurement(BuildingState)
            .Tag(TagKeys.Building, state.Building)
            .Field("power_kw", state.PowerKw)
            .Field("people", state.People)
            .Field("capacity", (double)state.Capacity)
            .Field("sensors_online", (double)state.SensorsOnline)
            .Field("sensors_total", (double)state.SensorsTotal)
            .Field("alerts_active", (double)state.AlertsActive)
            .Timestamp(atMs, LineProtocol.Precision);
        point = Optional(point, "utilisation", state.UtilisationPercent);
        point = Optional(point, "energy_kwh", state.EnergyKwh);
        return Line(point);
    }

    public static string Campus(CampusState state, long atMs)
    {
        ArgumentNullException.ThrowIfNull(state);
        var point = PointData.Measurement(CampusState)
            .Tag(TagKeys.Campus, state.Campus)
            .Field("power_kw", state.PowerKw)
            .Field("people", state.People)
            .Field("capacity", (double)state.Capacity)
            .Field("devices_online", (double)state.DevicesOnline)
            .Field("devices_total", (double)state.DevicesTotal)
            .Field("devices_online_pct", state.DevicesTotal == 0 ? 0 : 100.0 * state.DevicesOnline / state.DevicesTotal)
            .Field("alerts_critical", (double)state.ActiveAlertsBySeverity.GetValueOrDefault(AlertSeverity.Critical))
            .Field("alerts_warning", (double)state.ActiveAlertsBySeverity.GetValueOrDefault(AlertSeverity.Warning))
            .Field("alerts_info", (double)state.ActiveAlertsBySeverity.GetValueOrDefault(AlertSeverity.Info))
            .Timestamp(atMs, LineProtocol.Precision);
        point = Optional(point, "utilisation", state.UtilisationPercent);
        point = Optional(point, "energy_kwh", state.EnergyKwh);
        return Line(point);
    }

    public static string Device(
        SensorAddress address, string kind, bool online, double lastSeenAgeSeconds,
        long messagesTotal, long readingsTotal, double? battery, double? rssi, long atMs)
    {
        ArgumentNullException.ThrowIfNull(address);
        var point = PointData.Measurement(DeviceStatus)
            .Tag(TagKeys.Building, address.Building)
            .Tag(TagKeys.Room, address.Room)
            .Tag(TagKeys.Sensor, address.Sensor)
            .Tag(TagKeys.Kind, kind)
            .Field("online", online ? 1.0 : 0.0)
            .Field("last_seen_age_s", lastSeenAgeSeconds)
            .Field("messages_total", (double)messagesTotal)
            .Field("readings_total", (double)readingsTotal)
            .Timestamp(atMs, LineProtocol.Precision);
        point = Optional(point, "battery", battery);
        point = Optional(point, "rssi", rssi);
        return Line(point);
    }

    /// <summary>One point per lifecycle step of an alert, at the time of the step.</summary>
    public static string Alert(AlertStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var alert = step.Alert;
        var point = AlertPoint(alert, step.Event)
            .Field("alert_id", alert.Id)
            .Field("active", alert.IsActive ? 1.0 : 0.0)
            .Field("acknowledged", alert.AcknowledgedAtMs is null ? 0.0 : 1.0)
            .Field("message", alert.Message)
            .Field("by", step.Event switch
            {
                AlertEvent.Acknowledged => alert.AcknowledgedBy ?? "",
                AlertEvent.Cleared => alert.ClearedBy ?? "auto",
                _ => "auto",
            })
            .Timestamp(step.AtMs, LineProtocol.Precision);
        point = Optional(point, "value", alert.Value);
        return Line(point);
    }

    /// <summary>
    /// The points an alert step writes: the step's own point and, when the alert clears, a numeric field
    /// <c>cleared_at_ms</c> added to the alert's <c>raised</c> point (same tags and time, so InfluxDB merges it into that
    /// point instead of adding one). A row of the raise then carries its start (time) and end, which is what Grafana's
    /// InfluxDB annotations need for a region (<c>timeEndColumn</c>); InfluxQL cannot join the raise and clear points.
    /// </summary>
    public static IEnumerable<string> AlertLines(AlertStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        yield return Alert(step);
        if (step.Event == AlertEvent.Cleared)
        {
            yield return Line(AlertPoint(step.Alert, AlertEvent.Raised)
                .Field("cleared_at_ms", (double)step.AtMs)
                .Timestamp(step.Alert.RaisedAtMs, LineProtocol.Precision));
        }
    }

    /// <summary>The series of an alert's step points: the same tags for every step, so a later field lands on the raise's point.</summary>
    static PointData AlertPoint(AlertInfo alert, AlertEvent step) => PointData.Measurement(Alerts)
        .Tag(TagKeys.Building, alert.Building)
        .Tag(TagKeys.Room, alert.Room)
        .Tag(TagKeys.Sensor, alert.Sensor)
        .Tag(TagKeys.Rule, alert.Rule)
        .Tag(TagKeys.Severity, WireName.Of(alert.Severity))
        .Tag(TagKeys.Event, WireName.Of(step));

    public static string Stats(string host, long messagesAccepted, long readingsAccepted, long messagesRefused, long atMs) =>
        Line(PointData.Measurement(ServiceStats)
            .Tag(TagKeys.Host, host)
            .Field("messages_accepted", (double)messagesAccepted)
            .Field("readings_accepted", (double)readingsAccepted)
            .Field("messages_refused", (double)messagesRefused)
            .Timestamp(atMs, LineProtocol.Precision));

    public static string Refusal(string host, string reason, long count, long atMs) =>
        Line(PointData.Measurement(Refusals)
            .Tag(TagKeys.Host, host)
            .Tag(TagKeys.Reason, reason)
            .Field("count", (double)count)
            .Timestamp(atMs, LineProtocol.Precision));

    /// <summary>The measurement name of a line (up to the first unescaped comma or space).</summary>
    public static string MeasurementOf(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        for (var i = 0; i < line.Length; i++)
        {
            switch (line[i])
            {
                case '\\':
                    i++;
                    break;
                case ',' or ' ':
                    return line[..i];
            }
        }

        return line;
    }

    internal static PointData Optional(PointData point, string field, double? value) =>
        value is { } v && double.IsFinite(v) ? point.Field(field, v) : point;

    internal static string Line(PointData point)
    {
        var line = point.ToLineProtocol();
        if (line.Length == 0)
        {
            throw new ArgumentException("a point without fields has no line");
        }

        return line;
    }

}
