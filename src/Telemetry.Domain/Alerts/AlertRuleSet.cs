using System.Collections;
using System.Globalization;
using Telemetry.Domain.Campus;

namespace Telemetry.Domain.Alerts;

/// <summary>
/// The alert rules of a sensor kind together with the kind's expected reporting interval (offline rules count it), as
/// checked by <see cref="Validate"/>. The only way to build one is through that check (<see cref="Create"/>,
/// <see cref="TryCreate"/>), so a <see cref="SensorAlertEngine"/>, which takes nothing else, never sees an invalid rule.
/// Immutable.
/// </summary>
public sealed class AlertRuleSet : IReadOnlyList<AlertRule>
{
    readonly AlertRule[] _rules;

    AlertRuleSet(TimeSpan interval, AlertRule[] rules)
    {
        Interval = interval;
        _rules = rules;
    }

    /// <summary>The kind's expected reporting interval; greater than zero.</summary>
    public TimeSpan Interval { get; }

    public int Count => _rules.Length;

    public AlertRule this[int index] => _rules[index];

    public IEnumerator<AlertRule> GetEnumerator() => ((IEnumerable<AlertRule>)_rules).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _rules.GetEnumerator();

    /// <summary>Builds a rule set from rules written in code; throws naming every problem <see cref="Validate"/> finds.</summary>
    /// <exception cref="ArgumentException">The interval or a rule is invalid.</exception>
    public static AlertRuleSet Create(TimeSpan interval, params IReadOnlyList<AlertRule> rules) => Create(interval, null, rules);

    /// <summary>
    /// Builds a rule set from rules written in code, checking that their metrics are among <paramref name="metrics"/>;
    /// throws naming every problem <see cref="Validate"/> finds.
    /// </summary>
    /// <exception cref="ArgumentException">The interval or a rule is invalid.</exception>
    public static AlertRuleSet Create(TimeSpan interval, IReadOnlyCollection<string>? metrics, params IReadOnlyList<AlertRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        return TryCreate(interval, rules, metrics, out var problems)
            ?? throw new ArgumentException(
                "Invalid alert rules: " + string.Join("; ", problems.Select(p => p.Describe(rules))), nameof(rules));
    }

    /// <summary>Builds a rule set, or returns null and every problem <see cref="Validate"/> finds.</summary>
    public static AlertRuleSet? TryCreate(
        TimeSpan interval,
        IReadOnlyList<AlertRule?> rules,
        IReadOnlyCollection<string>? metrics,
        out IReadOnlyList<AlertRuleProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(rules);
        problems = Validate(interval, rules, metrics);
        return problems.Count == 0 ? new AlertRuleSet(interval, [.. rules.Select(r => r!)]) : null;
    }

    /// <summary>
    /// The one check of alert rules: whether <paramref name="rules"/> may run for a kind reporting every
    /// <paramref name="interval"/> with the metrics <paramref name="metrics"/> (null: not checked). Returns every
    /// problem, each naming the rule (by index) and the key at fault; an empty list means valid.
    /// </summary>
    public static IReadOnlyList<AlertRuleProblem> Validate(
        TimeSpan interval,
        IReadOnlyList<AlertRule?> rules,
        IReadOnlyCollection<string>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var problems = new List<AlertRuleProblem>();
        if (interval <= TimeSpan.Zero)
        {
            problems.Add(new AlertRuleProblem(null, "interval", $"interval must be greater than zero, not {Duration(interval)}"));
        }
        var firstById = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var index = 0; index < rules.Count; index++)
        {
            var rule = rules[index];
            void Problem(string? key, string message) => problems.Add(new AlertRuleProblem(index, key, message));
            if (rule is null)
            {
                Problem(null, "the rule is missing (null)");
                continue;
            }
            if (CampusRegistryLoader.IdProblem(rule.Id) is { } idProblem)
            {
                Problem("id", $"id '{rule.Id}' is not a valid id: {idProblem}");
            }
            else if (firstById.TryGetValue(rule.Id, out var first))
            {
                problems.Add(new AlertRuleProblem(index, "id", "the id is already used by another rule of the kind", first));
            }
            else
            {
                firstById.Add(rule.Id, index);
            }
            if (!Enum.IsDefined(rule.Severity))
            {
                Problem("severity", $"severity {(int)rule.Severity} is not a known severity");
            }
            switch (rule)
            {
                case ThresholdRule t:
                    CheckMetric(t.Metric, metrics, null, Problem);
                    var above = Finite(t.Above, "above", Problem);
                    var below = Finite(t.Below, "below", Problem);
                    var hysteresis = NotNegative(t.Hysteresis, "hysteresis", Problem);
                    if (t.Above is null && t.Below is null)
                    {
                        Problem(null, "a threshold rule needs 'above' and/or 'below'");
                    }
                    else if (above is { } a && below is { } b)
                    {
                        if (b >= a)
                        {
                            Problem("below", $"below ({Number(b)}) must be less than above ({Number(a)}), or the rule would always fire");
                        }
                        else if (hysteresis is { } h && b + h > a - h)
                        {
                            // Clearing needs a value >= below + h and <= above - h at once; past this no value can.
                            Problem("hysteresis",
                                $"hysteresis ({Number(h)}) is too wide for the band {Number(b)}…{Number(a)}: the alert could never clear "
                                + $"(a clear needs below + hysteresis <= above − hysteresis, so hysteresis at most {Number((a - b) / 2)})");
                        }
                    }
                    NotNegative(t.For, "for", Problem);
                    NotNegative(t.ClearFor, "clear-for", Problem);
                    break;
                case RateOfChangeRule r:
                    CheckMetric(r.Metric, metrics, null, Problem);
                    var rate = Positive(r.RatePerMinute, "rate-per-minute", Problem);
                    if (NotNegative(r.Hysteresis, "hysteresis", Problem) is { } rateHysteresis && rate is { } limit && rateHysteresis >= limit)
                    {
                        Problem("hysteresis",
                            $"hysteresis ({Number(rateHysteresis)}) must be less than rate-per-minute ({Number(limit)}), or the alert could never clear");
                    }
                    NotNegative(r.For, "for", Problem);
                    NotNegative(r.ClearFor, "clear-for", Problem);
                    break;
                case StuckRule s:
                    CheckMetric(s.Metric, metrics, null, Problem);
                    Positive(s.For, "for", Problem);
                    NotNegative(s.Tolerance, "tolerance", Problem);
                    NotNegative(s.ClearFor, "clear-for", Problem);
                    break;
                case OfflineRule o:
                    Positive(o.Intervals, "intervals", Problem);
                    if (o.Grace is { } grace)
                    {
                        Positive(grace, "grace", Problem);
                    }
                    break;
                case FaultCodeRule f:
                    CheckMetric(f.Metric, metrics,
                        $" (a fault-code rule uses metric '{FaultCodeRule.DefaultMetric}' unless it names one)", Problem);
                    NotNegative(f.For, "for", Problem);
                    NotNegative(f.ClearFor, "clear-for", Problem);
                    break;
                default:
                    Problem("type", $"rule type {rule.GetType().Name} is not known to the alert engine");
                    break;
            }
        }
        return problems;
    }

    static void CheckMetric(string? metric, IReadOnlyCollection<string>? metrics, string? defaultHint, Action<string?, string> problem)
    {
        if (string.IsNullOrWhiteSpace(metric))
        {
            problem("metric", "a metric is required");
        }
        else if (metrics is not null && !metrics.Contains(metric, StringComparer.Ordinal))
        {
            var hint = string.Equals(metric, FaultCodeRule.DefaultMetric, StringComparison.Ordinal) ? defaultHint : null;
            problem("metric", $"'{metric}' is not a metric of the kind{hint}; its metrics are: {string.Join(", ", metrics)}");
        }
    }

    static double? Finite(double? value, string key, Action<string?, string> problem)
    {
        if (value is { } v && !double.IsFinite(v))
        {
            problem(key, $"{key} must be a finite number, not {Number(v)}");
            return null;
        }
        return value;
    }

    static double? NotNegative(double value, string key, Action<string?, string> problem)
    {
        if (Finite(value, key, problem) is not { } v)
        {
            return null;
        }
        if (v < 0)
        {
            problem(key, $"{key} must not be negative, not {Number(v)}");
            return null;
        }
        return v;
    }

    static double? Positive(double value, string key, Action<string?, string> problem)
    {
        if (Finite(value, key, problem) is not { } v)
        {
            return null;
        }
        if (v <= 0)
        {
            problem(key, $"{key} must be greater than 0, not {Number(v)}");
            return null;
        }
        return v;
    }

    static void NotNegative(TimeSpan? duration, string key, Action<string?, string> problem)
    {
        if (duration is { } d && d < TimeSpan.Zero)
        {
            problem(key, $"{key} must be zero or more, not {Duration(d)}");
        }
    }

    static void Positive(TimeSpan duration, string key, Action<string?, string> problem)
    {
        if (duration <= TimeSpan.Zero)
        {
            problem(key, $"{key} must be greater than zero, not {Duration(duration)}");
        }
    }

    static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);

    static string Duration(TimeSpan duration) =>
        duration < TimeSpan.Zero ? "-" + AlertText.Duration(duration.Negate()) : AlertText.Duration(duration);
}

/// <summary>
/// One reason <see cref="AlertRuleSet.Validate"/> refuses rules. <paramref name="RuleIndex"/> is the rule's position
/// (null: the problem is the interval); <paramref name="Key"/> the registry key at fault (null: the rule as a whole);
/// <paramref name="FirstIndex"/>, for a repeated id, the position of the rule that has it first.
/// </summary>
public sealed record AlertRuleProblem(int? RuleIndex, string? Key, string Message, int? FirstIndex = null)
{
    /// <summary>The problem as a sentence naming the rule, for rules written in code.</summary>
    public string Describe(IReadOnlyList<AlertRule?> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        if (RuleIndex is not { } index)
        {
            return Message;
        }
        var first = FirstIndex is { } f ? $" (first at rule {f})" : "";
        return $"alert rule {index} '{rules[index]?.Id}': {Message}{first}";
    }
}
