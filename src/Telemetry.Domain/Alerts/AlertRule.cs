using Telemetry.Contracts;
using Telemetry.Domain.Campus;

namespace Telemetry.Domain.Alerts;

/// <summary>
/// One alert rule of a sensor kind (see docs/alerts.md for what each kind of rule does). One sealed record per rule
/// type, each carrying only its own fields. A rule object by itself is not checked: it reaches a
/// <see cref="SensorAlertEngine"/> only inside an <see cref="AlertRuleSet"/>, whose factory is the one place that decides
/// whether rules are valid. <see cref="Id"/> is unique within the kind and becomes the last segment of the alert topic.
/// </summary>
public abstract record AlertRule(string Id, AlertSeverity Severity, string? Description)
{
    /// <summary>The rule's type as stored with its alerts and its persisted state.</summary>
    public abstract AlertRuleType Type { get; }
}

/// <summary>
/// Value above <paramref name="Above"/> and/or below <paramref name="Below"/> for at least <paramref name="For"/>
/// (reading time); clears once back past the limit by <paramref name="Hysteresis"/> for <paramref name="ClearFor"/>
/// (null: the same as <paramref name="For"/>).
/// </summary>
public sealed record ThresholdRule(
    string Id,
    AlertSeverity Severity,
    string Metric,
    double? Above = null,
    double? Below = null,
    double Hysteresis = 0,
    TimeSpan For = default,
    TimeSpan? ClearFor = null,
    string? Description = null) : AlertRule(Id, Severity, Description)
{
    public override AlertRuleType Type => AlertRuleType.Threshold;
}

/// <summary>
/// The absolute change per minute between consecutive readings exceeds <paramref name="RatePerMinute"/> for at least
/// <paramref name="For"/>; clears at or below <paramref name="RatePerMinute"/> − <paramref name="Hysteresis"/> for
/// <paramref name="ClearFor"/> (null: the same as <paramref name="For"/>).
/// </summary>
public sealed record RateOfChangeRule(
    string Id,
    AlertSeverity Severity,
    string Metric,
    double RatePerMinute,
    double Hysteresis = 0,
    TimeSpan For = default,
    TimeSpan? ClearFor = null,
    string? Description = null) : AlertRule(Id, Severity, Description)
{
    public override AlertRuleType Type => AlertRuleType.RateOfChange;
}

/// <summary>
/// The value changes by no more than <paramref name="Tolerance"/> over <paramref name="For"/>; clears when a value
/// leaves the tolerance, after <paramref name="ClearFor"/> if set.
/// </summary>
public sealed record StuckRule(
    string Id,
    AlertSeverity Severity,
    string Metric,
    TimeSpan For,
    double Tolerance = 0,
    TimeSpan? ClearFor = null,
    string? Description = null) : AlertRule(Id, Severity, Description)
{
    public override AlertRuleType Type => AlertRuleType.Stuck;
}

/// <summary>
/// No data for <paramref name="Intervals"/> × the kind's interval, or disconnected without a message or reconnect
/// within <paramref name="Grace"/> (null: one interval).
/// </summary>
public sealed record OfflineRule(
    string Id,
    AlertSeverity Severity,
    double Intervals = OfflineRule.DefaultIntervals,
    TimeSpan? Grace = null,
    string? Description = null) : AlertRule(Id, Severity, Description)
{
    /// <summary>Reporting intervals without data before the rule fires when the rule does not say.</summary>
    public const double DefaultIntervals = 1.5;

    public override AlertRuleType Type => AlertRuleType.Offline;
}

/// <summary>
/// The device reports a non-zero code in <paramref name="Metric"/> for <paramref name="For"/>; clears when it reports 0
/// for <paramref name="ClearFor"/> (null: the same as <paramref name="For"/>).
/// </summary>
public sealed record FaultCodeRule(
    string Id,
    AlertSeverity Severity,
    string Metric = FaultCodeRule.DefaultMetric,
    TimeSpan For = default,
    TimeSpan? ClearFor = null,
    string? Description = null) : AlertRule(Id, Severity, Description)
{
    /// <summary>The metric a fault-code rule watches when it names none.</summary>
    public const string DefaultMetric = "fault";

    public override AlertRuleType Type => AlertRuleType.FaultCode;
}
