using Telemetry.Contracts;

namespace Telemetry.Domain.Alerts;

/// <summary>The one mapping from the alert engine's types to the alert contracts (API, notifications, index).</summary>
public static class AlertContracts
{
    /// <summary>The alert as the API and notifications see it, placed in <paramref name="building"/>/<paramref name="room"/>.</summary>
    public static AlertInfo ToInfo(this Alert alert, string building, string room)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return new AlertInfo(
            alert.Id,
            building,
            room,
            alert.Sensor,
            alert.Rule,
            alert.RuleType,
            alert.Severity,
            alert.State,
            alert.RaisedAtMs,
            double.IsFinite(alert.Value) ? alert.Value : null,
            alert.Message,
            alert.AcknowledgedAtMs,
            alert.AcknowledgedBy,
            alert.AcknowledgedNote,
            alert.ClearedAtMs,
            alert.ClearedBy,
            alert.Flapping);
    }

    /// <summary>The step as it is recorded and delivered, at the time the step happened.</summary>
    public static AlertStep ToStep(this AlertTransition transition, string building, string room)
    {
        ArgumentNullException.ThrowIfNull(transition);
        var alert = transition.Alert;
        var atMs = transition.Event switch
        {
            AlertEvent.Acknowledged => alert.AcknowledgedAtMs ?? alert.RaisedAtMs,
            AlertEvent.Cleared => alert.ClearedAtMs ?? alert.RaisedAtMs,
            _ => alert.RaisedAtMs,
        };
        return new AlertStep(transition.Event, atMs, alert.ToInfo(building, room));
    }
}
