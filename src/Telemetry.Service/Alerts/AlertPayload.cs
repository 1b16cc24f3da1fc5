using System.Text.Json;
using System.Text.Json.Serialization;
using Telemetry.Contracts;

namespace Telemetry.Service.Alerts;

/// <summary>The JSON an alert step is delivered as, over MQTT and to webhooks (docs/alerts.md).</summary>
public static class AlertPayload
{
    static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static byte[] Serialize(AlertStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return Serialize(step.Event, step.AtMs, step.Alert, null);
    }

    /// <summary>
    /// A notification of an outbox (webhooks): the step's JSON plus <c>key</c> (the idempotency key), <c>kind</c>
    /// (<c>raised</c>, <c>acknowledged</c>, <c>cleared</c>, <c>renotified</c>, <c>escalated</c>) and <c>repeat</c>.
    /// A re-notification or escalation is about an alert still unacknowledged: its <c>event</c> is <c>raised</c>.
    /// </summary>
    public static byte[] Serialize(AlertNotification notification)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var alertEvent = notification.Kind switch
        {
            AlertNotificationKind.Acknowledged => AlertEvent.Acknowledged,
            AlertNotificationKind.Cleared => AlertEvent.Cleared,
            _ => AlertEvent.Raised,
        };
        return Serialize(alertEvent, notification.AtMs, notification.Alert, notification);
    }

    static byte[] Serialize(AlertEvent alertEvent, long atMs, AlertInfo a, AlertNotification? notification) =>
        JsonSerializer.SerializeToUtf8Bytes(new
        {
            @event = alertEvent,
            at = DateTimeOffset.FromUnixTimeMilliseconds(atMs),
            id = a.Id,
            building = a.Building,
            room = a.Room,
            sensor = a.Sensor,
            rule = a.Rule,
            ruleType = a.RuleType,
            severity = a.Severity,
            state = a.State,
            message = a.Message,
            value = a.Value,
            raisedAt = DateTimeOffset.FromUnixTimeMilliseconds(a.RaisedAtMs),
            acknowledgedAt = a.AcknowledgedAtMs is { } ack ? DateTimeOffset.FromUnixTimeMilliseconds(ack) : (DateTimeOffset?)null,
            acknowledgedBy = a.AcknowledgedBy,
            acknowledgeNote = a.AcknowledgeNote,
            clearedAt = a.ClearedAtMs is { } cleared ? DateTimeOffset.FromUnixTimeMilliseconds(cleared) : (DateTimeOffset?)null,
            clearedBy = a.ClearedBy,
            flapping = a.Flapping,
            key = notification?.Key,
            kind = notification is null ? null : WireName.Of(notification.Kind),
            repeat = notification?.Repeat,
        }, Options);
}
