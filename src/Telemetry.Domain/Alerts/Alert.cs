using Telemetry.Contracts;

namespace Telemetry.Domain.Alerts;

/// <summary>
/// One alert of one sensor and rule. <paramref name="Id"/> is <c>{sensor}/{rule}/{RaisedAtMs}</c>. Times of reading-time
/// rules (threshold, rate-of-change, stuck, fault-code) are device timestamps; offline alerts, acknowledgements and
/// manual clears use the receive/wall clock. <paramref name="Value"/> is what triggered: the reading (threshold,
/// stuck, fault code), the signed change per minute (rate-of-change) or the seconds without data (offline).
/// <paramref name="RaiseCount"/> counts the raises of the rule within the flap window up to this one, plus the
/// re-triggers a flapping alert absorbed while it stayed active.
/// </summary>
public sealed record Alert(
    string Id,
    string Sensor,
    string Rule,
    AlertRuleType RuleType,
    AlertSeverity Severity,
    AlertState State,
    long RaisedAtMs,
    double Value,
    string Message,
    long? AcknowledgedAtMs = null,
    string? AcknowledgedBy = null,
    string? AcknowledgedNote = null,
    long? ClearedAtMs = null,
    string? ClearedBy = null,
    bool Flapping = false,
    int RaiseCount = 1)
{
    /// <summary>"auto" in <see cref="ClearedBy"/>: the condition ended.</summary>
    public const string ClearedByAuto = "auto";

    /// <summary>In <see cref="ClearedBy"/>: the rule was taken out of the registry.</summary>
    public const string ClearedByRuleRemoved = "rule removed";

    /// <summary>In <see cref="ClearedBy"/>: the rule id now names a rule of another type.</summary>
    public const string ClearedByRuleChanged = "rule changed";

    /// <summary>
    /// In <see cref="ClearedBy"/>: the sensor's alert state was lost (saved state that did not restore, or no alert
    /// engine), so an alert it had open can no longer be followed, acknowledged or cleared by its sensor.
    /// </summary>
    public const string ClearedByStateLost = "state lost";

    /// <summary>Raised or acknowledged, not cleared.</summary>
    public bool IsOpen => State != AlertState.Cleared;
}

/// <summary>One lifecycle step of an alert, to be published once: the alert as it is after the step.</summary>
public sealed record AlertTransition(Alert Alert, AlertEvent Event);

/// <summary>Why an acknowledgement or a manual clear was refused.</summary>
public enum AlertActionError
{
    None,
    /// <summary>No alert with that id is open or was recently cleared on this sensor.</summary>
    UnknownAlert,
    /// <summary>The alert is already cleared.</summary>
    AlreadyCleared,
    /// <summary>The alert is already acknowledged (acknowledging twice would notify twice).</summary>
    AlreadyAcknowledged,
    /// <summary>An argument is missing or malformed (e.g. an empty name in <c>by</c>).</summary>
    InvalidArgument,
}

/// <summary>The outcome of an acknowledgement or a manual clear: the transition, or an error with a sentence naming it.</summary>
public sealed record AlertActionResult(AlertTransition? Transition, AlertActionError Error, string? ErrorMessage)
{
    public bool Succeeded => Error == AlertActionError.None;

    internal static AlertActionResult Ok(AlertTransition transition) => new(transition, AlertActionError.None, null);

    internal static AlertActionResult Fail(AlertActionError error, string message) => new(null, error, message);
}
