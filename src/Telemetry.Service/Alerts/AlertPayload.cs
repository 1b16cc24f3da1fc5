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
        var a = step.Alert;
        return JsonSerializer.SerializeToUtf8Bytes(new
        {
            @event = step.Event,
            at = DateTimeOffset.FromUnixTimeMilliseconds(step.AtMs),
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
        }, Options);
    }
}
