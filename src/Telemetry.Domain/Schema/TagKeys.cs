namespace Telemetry.Domain.Schema;

/// <summary>
/// Every tag key the service writes to InfluxDB (docs/schema.md), in one place: the line builders of
/// <c>Telemetry.Storage</c> use these constants, and the ingest contract refuses a metric named like any of them
/// (<c>metric_name_reserved</c>), since a field named like a tag is ambiguous in InfluxQL and Flux.
/// </summary>
public static class TagKeys
{
    public const string Building = "building";
    public const string Room = "room";
    public const string Sensor = "sensor";
    public const string Unregistered = "unregistered";
    public const string Kind = "kind";
    public const string Metric = "metric";
    public const string RoomType = "room_type";
    public const string Campus = "campus";
    public const string Rule = "rule";
    public const string Severity = "severity";
    public const string Event = "event";
    public const string Host = "host";
    public const string Reason = "reason";

    /// <summary>All of the above: a metric must not be named like any of them.</summary>
    public static IReadOnlySet<string> All { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        Building, Room, Sensor, Unregistered, Kind, Metric, RoomType, Campus, Rule, Severity, Event, Host, Reason,
    };
}
