using System.Diagnostics;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;

namespace Telemetry.Domain.Alerts;

/// <summary>
/// The alert rules of one sensor: evaluates readings and clock ticks, keeps at most one open alert per rule and
/// reports every lifecycle step exactly once. Pure: no I/O and no clock; every time is Unix epoch milliseconds.
/// Not thread-safe (one grain owns one engine). See docs/alerts.md for the semantics.
/// </summary>
public sealed class SensorAlertEngine
{
    readonly string _sensorId;
    readonly AlertEngineOptions _options;
    readonly List<RuleRuntime> _rules = [];
    readonly Dictionary<string, long> _newestReadingMs = new(StringComparer.Ordinal);
    readonly List<Alert> _recentlyCleared = [];
    IReadOnlyDictionary<string, MetricSpec> _metrics;
    AlertRuleSet _ruleSet;
    long _watchSinceMs;
    long? _lastSeenMs;
    long? _disconnectedAtMs;
    long _lateValuesIgnored;

    /// <summary>Creates the engine of one sensor.</summary>
    /// <param name="sensorId">The sensor; becomes the first segment of alert ids.</param>
    /// <param name="rules">The rules of the sensor's kind with its expected reporting interval, checked when the set was built.</param>
    /// <param name="restoredState">A <see cref="State"/> saved earlier, or null for a fresh start.</param>
    /// <param name="options">Flap guard and history sizes.</param>
    /// <param name="createdAtMs">
    /// Now (receive/wall clock). A fresh engine starts its offline clock here, so a sensor that never reports goes
    /// offline after Intervals × interval. A restored engine keeps the clock of its state (see <see cref="ResetOfflineClock"/>).
    /// </param>
    /// <param name="metrics">The kind's metrics, for units in alert messages; optional.</param>
    /// <exception cref="ArgumentException">The options or the restored state is malformed.</exception>
    public SensorAlertEngine(
        string sensorId,
        AlertRuleSet rules,
        AlertEngineState? restoredState,
        AlertEngineOptions options,
        long createdAtMs,
        IReadOnlyDictionary<string, MetricSpec>? metrics = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sensorId);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _sensorId = sensorId;
        _options = options;
        _ruleSet = rules;
        _metrics = metrics ?? new Dictionary<string, MetricSpec>(StringComparer.Ordinal);
        _watchSinceMs = createdAtMs;
        foreach (var rule in rules)
        {
            _rules.Add(new RuleRuntime(rule.Id, rule.Type) { Rule = rule });
        }
        if (restoredState is not null)
        {
            Restore(restoredState);
        }
    }

    public string SensorId => _sensorId;

    public TimeSpan ExpectedInterval => _ruleSet.Interval;

    /// <summary>The rules in force (rules removed by a reload are gone at once even while their clear is pending).</summary>
    public AlertRuleSet Rules => _ruleSet;

    /// <summary>Receive time of the newest message, if any arrived.</summary>
    public long? LastSeenMs => _lastSeenMs;

    /// <summary>
    /// Metric values ignored for alerting because their reading time was not newer than the newest value of the
    /// same metric already evaluated (late, out of order or duplicated). Only metrics some rule watches count.
    /// </summary>
    public long LateValuesIgnored => _lateValuesIgnored;

    /// <summary>Open alerts (active or acknowledged), in rule order.</summary>
    public IReadOnlyList<Alert> Active => [.. _rules.Where(r => r.Alert is not null).Select(r => r.Alert!)];

    /// <summary>A snapshot to persist; pass it to the constructor to carry on.</summary>
    public AlertEngineState State => new(
        _sensorId,
        _watchSinceMs,
        _lastSeenMs,
        _disconnectedAtMs,
        _lateValuesIgnored,
        new Dictionary<string, long>(_newestReadingMs, StringComparer.Ordinal),
        [.. _rules.Select(r => r.ToState())],
        [.. _recentlyCleared]);

    /// <summary>
    /// Evaluates one reading. Reading-time rules use <see cref="Reading.TimestampMs"/>; the offline rules count the
    /// message as seen at <paramref name="receivedAtMs"/> (late readings too: the device is alive).
    /// </summary>
    public IReadOnlyList<AlertTransition> OnReading(Reading reading, long receivedAtMs)
    {
        ArgumentNullException.ThrowIfNull(reading);
        var output = new List<AlertTransition>();
        FlushOrphans(receivedAtMs, output);

        _lastSeenMs = _lastSeenMs is { } seen ? Math.Max(seen, receivedAtMs) : receivedAtMs;
        _disconnectedAtMs = null;
        foreach (var rule in _rules)
        {
            if (rule.Rule is OfflineRule)
            {
                Step(rule, Condition.Clear, receivedAtMs, 0, receivedAtMs, 0, 0, output);
            }
        }

        foreach (var metric in reading.Metrics ?? [])
        {
            if (metric.Name is null || !_rules.Exists(r => r.Rule is not null && Watches(r.Rule, metric.Name)))
            {
                continue;
            }
            if (!double.IsFinite(metric.Value))
            {
                continue;
            }
            if (_newestReadingMs.TryGetValue(metric.Name, out var newest) && reading.TimestampMs <= newest)
            {
                _lateValuesIgnored++;
                continue;
            }
            _newestReadingMs[metric.Name] = reading.TimestampMs;
            foreach (var rule in _rules)
            {
                if (rule.Rule is { } spec && Watches(spec, metric.Name))
                {
                    Evaluate(rule, spec, reading.TimestampMs, metric.Value, output);
                }
            }
        }
        return output;
    }

    /// <summary>
    /// Offline detection at <paramref name="nowMs"/> (receive/wall clock). Call it regularly, e.g. every quarter
    /// interval; an alert is raised at the first tick past the limit.
    /// </summary>
    public IReadOnlyList<AlertTransition> OnTick(long nowMs)
    {
        var output = new List<AlertTransition>();
        FlushOrphans(nowMs, output);
        foreach (var rule in _rules)
        {
            if (rule.Rule is not OfflineRule spec)
            {
                continue;
            }
            if (OfflineValue(spec, nowMs) is { } silentSeconds)
            {
                Step(rule, Condition.Raise, nowMs, silentSeconds, nowMs, 0, 0, output);
            }
            else if (rule.ClearPendingSinceMs is not null)
            {
                // Only data ends an offline condition; a tick merely lets a flapping alert's clear wait run out.
                Step(rule, Condition.Clear, nowMs, 0, nowMs, 0, 0, output);
            }
        }
        return output;
    }

    /// <summary>The device's connection closed; offline after the rule's Grace unless a message or reconnect comes.</summary>
    public void OnDisconnected(long nowMs) => _disconnectedAtMs ??= nowMs;

    /// <summary>The device connected again: cancels the disconnect grace (an open offline alert waits for data).</summary>
    public void OnConnected(long nowMs) => _disconnectedAtMs = null;

    /// <summary>
    /// Restarts the offline clock at <paramref name="nowMs"/> and forgets a pending disconnect. A host calls it after
    /// the service itself was down, so that the time nobody listened does not count as the device's silence.
    /// </summary>
    public void ResetOfflineClock(long nowMs)
    {
        _watchSinceMs = nowMs;
        _disconnectedAtMs = null;
    }

    /// <summary>Acknowledges an open alert; it stays open and still clears by itself.</summary>
    public AlertActionResult Acknowledge(string alertId, string by, string? note, long nowMs)
    {
        if (string.IsNullOrWhiteSpace(by))
        {
            return AlertActionResult.Fail(AlertActionError.InvalidArgument, "An acknowledgement needs the name of the person (by).");
        }
        var rule = FindOpen(alertId);
        if (rule is null)
        {
            return NotOpen(alertId);
        }
        var alert = rule.Alert!;
        if (alert.State == AlertState.Acknowledged)
        {
            return AlertActionResult.Fail(AlertActionError.AlreadyAcknowledged,
                $"Alert {alertId} was already acknowledged by {alert.AcknowledgedBy}.");
        }
        rule.Alert = alert with
        {
            State = AlertState.Acknowledged,
            AcknowledgedAtMs = nowMs,
            AcknowledgedBy = by,
            AcknowledgedNote = string.IsNullOrWhiteSpace(note) ? null : note,
        };
        return AlertActionResult.Ok(new AlertTransition(rule.Alert, AlertEvent.Acknowledged));
    }

    /// <summary>
    /// Clears an open alert by hand. If its condition still holds, the rule stays quiet until the condition has ended
    /// (the moment the alert would have cleared by itself) and then starts again.
    /// </summary>
    public AlertActionResult Clear(string alertId, string by, long nowMs)
    {
        if (string.IsNullOrWhiteSpace(by))
        {
            return AlertActionResult.Fail(AlertActionError.InvalidArgument, "A manual clear needs the name of the person (by).");
        }
        var rule = FindOpen(alertId);
        if (rule is null)
        {
            return NotOpen(alertId);
        }
        var transition = Close(rule, nowMs, by);
        if (rule.Rule is null)
        {
            _rules.Remove(rule);
        }
        else
        {
            rule.Latched = true;
            rule.RaisePendingSinceMs = null;
        }
        return AlertActionResult.Ok(transition);
    }

    /// <summary>
    /// Applies a registry reload. Rules whose id and type are unchanged keep their state (pending timers, open
    /// alert); a removed rule clears its open alert by "rule removed", a rule whose type changed by "rule changed".
    /// </summary>
    public IReadOnlyList<AlertTransition> UpdateRules(
        AlertRuleSet rules,
        long nowMs,
        IReadOnlyDictionary<string, MetricSpec>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var output = new List<AlertTransition>();
        FlushOrphans(nowMs, output);
        var kept = new List<RuleRuntime>(rules.Count);
        foreach (var spec in rules)
        {
            var existing = _rules.Find(r => string.Equals(r.Id, spec.Id, StringComparison.Ordinal));
            if (existing is not null && existing.Type == spec.Type)
            {
                if (!string.Equals(WatchedMetric(existing.Rule!), WatchedMetric(spec), StringComparison.Ordinal))
                {
                    existing.ResetEvaluation();
                }
                existing.Rule = spec;
                kept.Add(existing);
                continue;
            }
            if (existing is not null && existing.Alert is not null)
            {
                output.Add(Close(existing, nowMs, Alert.ClearedByRuleChanged));
            }
            kept.Add(new RuleRuntime(spec.Id, spec.Type) { Rule = spec });
        }
        foreach (var old in _rules)
        {
            if (!kept.Contains(old) && old.Alert is not null && !rules.Any(s => string.Equals(s.Id, old.Id, StringComparison.Ordinal)))
            {
                output.Add(Close(old, nowMs, Alert.ClearedByRuleRemoved));
            }
        }
        _rules.Clear();
        _rules.AddRange(kept);
        _ruleSet = rules;
        if (metrics is not null)
        {
            _metrics = metrics;
        }
        foreach (var metric in _newestReadingMs.Keys.ToList())
        {
            if (!_rules.Exists(r => Watches(r.Rule!, metric)))
            {
                _newestReadingMs.Remove(metric);
            }
        }
        return output;
    }

    void Evaluate(RuleRuntime rule, AlertRule spec, long ts, double value, List<AlertTransition> output)
    {
        switch (spec)
        {
            case ThresholdRule t:
            {
                var raise = (t.Above is { } above && value > above) || (t.Below is { } below && value < below);
                var clear = (t.Above is not { } a || value <= a - t.Hysteresis)
                    && (t.Below is not { } b || value >= b + t.Hysteresis);
                var condition = raise ? Condition.Raise : clear ? Condition.Clear : Condition.Hold;
                Step(rule, condition, ts, value, ts, Ms(t.For), Ms(t.ClearFor ?? t.For), output);
                break;
            }
            case RateOfChangeRule r:
            {
                if (rule.PreviousReadingMs is not { } previousMs || rule.PreviousValue is not { } previous)
                {
                    rule.PreviousReadingMs = ts;
                    rule.PreviousValue = value;
                    return;
                }
                var perMinute = (value - previous) / ((ts - previousMs) / 60_000.0);
                rule.PreviousReadingMs = ts;
                rule.PreviousValue = value;
                var magnitude = Math.Abs(perMinute);
                var condition = magnitude > r.RatePerMinute ? Condition.Raise
                    : magnitude <= r.RatePerMinute - r.Hysteresis ? Condition.Clear
                    : Condition.Hold;
                // The change happened over the whole step, so the condition has held since the previous reading.
                Step(rule, condition, ts, perMinute, previousMs, Ms(r.For), Ms(r.ClearFor ?? r.For), output);
                break;
            }
            case StuckRule s:
            {
                if (rule.RunStartMs is null || rule.RunStartValue is not { } start || Math.Abs(value - start) > s.Tolerance)
                {
                    rule.RunStartMs = ts;
                    rule.RunStartValue = value;
                    rule.RunLength = 1;
                }
                else
                {
                    rule.RunLength++;
                }
                var stuck = rule.RunLength >= 2 && ts - rule.RunStartMs >= Ms(s.For);
                // For is part of the condition itself (the run's length), so the generic wait is zero.
                Step(rule, stuck ? Condition.Raise : Condition.Clear, ts, value, ts, 0, Ms(s.ClearFor ?? TimeSpan.Zero), output);
                break;
            }
            case FaultCodeRule f:
                Step(rule, value != 0 ? Condition.Raise : Condition.Clear, ts, value, ts, Ms(f.For), Ms(f.ClearFor ?? f.For), output);
                break;
            default:
                // Offline rules watch no metric; OnTick and OnReading's sign of life drive them.
                break;
        }
    }

    /// <summary>
    /// The state machine every rule shares. Idle: the raise condition must hold from <paramref name="sinceMs"/> for
    /// <paramref name="forMs"/>. Engaged (open alert, or latched after a manual clear): the clear condition must hold
    /// for <paramref name="clearForMs"/> (a flapping alert: at least the flap window); Hold (inside the hysteresis
    /// band) restarts that wait.
    /// </summary>
    void Step(RuleRuntime rule, Condition condition, long ts, double value, long sinceMs, long forMs, long clearForMs,
        List<AlertTransition> output)
    {
        if (rule.Alert is not null || rule.Latched)
        {
            switch (condition)
            {
                case Condition.Raise:
                    if (rule.Alert is { } open)
                    {
                        if (open.Flapping && rule.ClearPendingSinceMs is not null)
                        {
                            open = open with { RaiseCount = open.RaiseCount + 1 };
                        }
                        if (rule.Rule is FaultCodeRule && value != open.Value)
                        {
                            // A different code is the same fault episode: update, do not notify again.
                            open = open with { Value = value, Message = Describe(rule.Rule!, value, null) };
                        }
                        rule.Alert = open;
                    }
                    rule.ClearPendingSinceMs = null;
                    break;
                case Condition.Clear:
                    rule.ClearPendingSinceMs ??= ts;
                    var wait = clearForMs;
                    if (rule.Alert is { Flapping: true })
                    {
                        wait = Math.Max(wait, Ms(_options.FlapWindow));
                    }
                    if (ts - rule.ClearPendingSinceMs >= wait)
                    {
                        if (rule.Alert is not null)
                        {
                            output.Add(Close(rule, ts, Alert.ClearedByAuto));
                        }
                        rule.Latched = false;
                        rule.ClearPendingSinceMs = null;
                        rule.RaisePendingSinceMs = null;
                    }
                    break;
                default:
                    rule.ClearPendingSinceMs = null;
                    break;
            }
            return;
        }

        if (condition != Condition.Raise)
        {
            rule.RaisePendingSinceMs = null;
            return;
        }
        rule.RaisePendingSinceMs ??= sinceMs;
        if (ts - rule.RaisePendingSinceMs >= forMs)
        {
            Raise(rule, ts, value, output);
        }
    }

    void Raise(RuleRuntime rule, long ts, double value, List<AlertTransition> output)
    {
        var spec = rule.Rule!;
        var flapping = false;
        if (_options.FlapThreshold > 0)
        {
            var window = Ms(_options.FlapWindow);
            rule.RecentRaisesMs.RemoveAll(t => ts - t >= window);
            rule.RecentRaisesMs.Add(ts);
            if (rule.RecentRaisesMs.Count > _options.FlapThreshold)
            {
                rule.RecentRaisesMs.RemoveAt(0);
            }
            flapping = rule.RecentRaisesMs.Count >= _options.FlapThreshold;
        }
        rule.Alert = new Alert(
            Id: $"{_sensorId}/{spec.Id}/{ts}",
            Sensor: _sensorId,
            Rule: spec.Id,
            RuleType: spec.Type,
            Severity: spec.Severity,
            State: AlertState.Active,
            RaisedAtMs: ts,
            Value: value,
            Message: Describe(spec, value, ts),
            Flapping: flapping,
            RaiseCount: Math.Max(1, rule.RecentRaisesMs.Count));
        rule.RaisePendingSinceMs = null;
        rule.ClearPendingSinceMs = null;
        output.Add(new AlertTransition(rule.Alert, AlertEvent.Raised));
    }

    AlertTransition Close(RuleRuntime rule, long ts, string by)
    {
        var cleared = rule.Alert! with { State = AlertState.Cleared, ClearedAtMs = ts, ClearedBy = by };
        rule.Alert = null;
        rule.ClearPendingSinceMs = null;
        if (_options.ClearedHistory > 0)
        {
            _recentlyCleared.Add(cleared);
            if (_recentlyCleared.Count > _options.ClearedHistory)
            {
                _recentlyCleared.RemoveAt(0);
            }
        }
        return new AlertTransition(cleared, AlertEvent.Cleared);
    }

    string Describe(AlertRule spec, double value, long? nowMs)
    {
        var metric = WatchedMetric(spec);
        var unit = metric is not null && _metrics.TryGetValue(metric, out var m) ? m.Unit : null;
        return spec switch
        {
            ThresholdRule t => AlertText.Threshold(t, value, unit),
            RateOfChangeRule r => AlertText.Rate(r, value, unit),
            StuckRule s => AlertText.Stuck(s, value, unit),
            FaultCodeRule f => AlertText.Fault(f, value),
            OfflineRule o => DescribeOffline(o, nowMs ?? 0),
            _ => throw new UnreachableException($"Rule type {spec.GetType().Name} has no description."),
        };
    }

    string DescribeOffline(OfflineRule spec, long nowMs)
    {
        if (SilenceExceeded(spec, nowMs) || _disconnectedAtMs is not { } disconnectedAt)
        {
            return AlertText.Silent(spec, TimeSpan.FromMilliseconds(nowMs - OfflineReferenceMs), ExpectedInterval);
        }
        return AlertText.Disconnected(spec, TimeSpan.FromMilliseconds(nowMs - disconnectedAt));
    }

    long OfflineReferenceMs => _lastSeenMs is { } seen ? Math.Max(seen, _watchSinceMs) : _watchSinceMs;

    bool SilenceExceeded(OfflineRule spec, long nowMs) =>
        nowMs - OfflineReferenceMs > spec.Intervals * ExpectedInterval.TotalMilliseconds;

    /// <summary>Seconds without data when the sensor counts as offline at <paramref name="nowMs"/>, else null.</summary>
    double? OfflineValue(OfflineRule spec, long nowMs)
    {
        var grace = Ms(spec.Grace ?? ExpectedInterval);
        var offline = SilenceExceeded(spec, nowMs)
            || (_disconnectedAtMs is { } disconnectedAt && nowMs - disconnectedAt > grace);
        return offline ? (nowMs - OfflineReferenceMs) / 1000.0 : null;
    }

    RuleRuntime? FindOpen(string alertId) =>
        _rules.Find(r => r.Alert is not null && string.Equals(r.Alert.Id, alertId, StringComparison.Ordinal));

    AlertActionResult NotOpen(string alertId) =>
        _recentlyCleared.Exists(a => string.Equals(a.Id, alertId, StringComparison.Ordinal))
            ? AlertActionResult.Fail(AlertActionError.AlreadyCleared, $"Alert {alertId} is already cleared.")
            : AlertActionResult.Fail(AlertActionError.UnknownAlert, $"Sensor {_sensorId} has no alert {alertId}.");

    /// <summary>Open alerts of rules a restored state knew but the current rules lack end with the next call.</summary>
    void FlushOrphans(long nowMs, List<AlertTransition> output)
    {
        for (var i = _rules.Count - 1; i >= 0; i--)
        {
            if (_rules[i].Rule is null)
            {
                var orphan = _rules[i];
                _rules.RemoveAt(i);
                if (orphan.Alert is not null)
                {
                    output.Insert(0, Close(orphan, nowMs, Alert.ClearedByRuleRemoved));
                }
            }
        }
    }

    void Restore(AlertEngineState state)
    {
        if (!string.Equals(state.SensorId, _sensorId, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"The restored alert state belongs to sensor '{state.SensorId}', not '{_sensorId}'.", nameof(state));
        }
        _watchSinceMs = state.WatchSinceMs;
        _lastSeenMs = state.LastSeenMs;
        _disconnectedAtMs = state.DisconnectedAtMs;
        _lateValuesIgnored = state.LateValuesIgnored;
        foreach (var (metric, ts) in state.NewestReadingMs ?? new Dictionary<string, long>())
        {
            if (_rules.Exists(r => Watches(r.Rule!, metric)))
            {
                _newestReadingMs[metric] = ts;
            }
        }
        _recentlyCleared.AddRange((state.RecentlyCleared ?? []).TakeLast(_options.ClearedHistory));
        foreach (var saved in state.Rules ?? [])
        {
            var rule = _rules.Find(r => string.Equals(r.Id, saved.RuleId, StringComparison.Ordinal));
            if (rule is not null && rule.Type == saved.Type)
            {
                rule.Load(saved);
            }
            else if (saved.Alert is not null && rule is null)
            {
                var orphan = new RuleRuntime(saved.RuleId, saved.Type);
                orphan.Load(saved);
                _rules.Add(orphan);
            }
            else if (saved.Alert is not null && rule is not null)
            {
                // Same id, other type: the old alert cannot continue under the new rule; it is cleared next call.
                var orphan = new RuleRuntime(saved.RuleId, saved.Type);
                orphan.Load(saved);
                _rules.Add(orphan);
            }
        }
    }

    static bool Watches(AlertRule rule, string metric) =>
        string.Equals(WatchedMetric(rule), metric, StringComparison.Ordinal);

    static string? WatchedMetric(AlertRule rule) => rule switch
    {
        ThresholdRule t => t.Metric,
        RateOfChangeRule r => r.Metric,
        StuckRule s => s.Metric,
        FaultCodeRule f => f.Metric,
        _ => null,
    };

    static long Ms(TimeSpan duration) => (long)duration.TotalMilliseconds;

    enum Condition
    {
        /// <summary>The raise condition holds.</summary>
        Raise,
        /// <summary>The clear condition holds.</summary>
        Clear,
        /// <summary>Neither (inside the hysteresis band): an idle rule stays idle, an open alert's clear wait restarts.</summary>
        Hold,
    }

    sealed class RuleRuntime(string id, AlertRuleType type)
    {
        public string Id { get; } = id;
        public AlertRuleType Type { get; } = type;
        /// <summary>Null for a restored rule the current rules lack; its open alert is cleared on the next call.</summary>
        public AlertRule? Rule { get; set; }
        public Alert? Alert { get; set; }
        public bool Latched { get; set; }
        public long? RaisePendingSinceMs { get; set; }
        public long? ClearPendingSinceMs { get; set; }
        public List<long> RecentRaisesMs { get; } = [];
        public long? PreviousReadingMs { get; set; }
        public double? PreviousValue { get; set; }
        public long? RunStartMs { get; set; }
        public double? RunStartValue { get; set; }
        public int RunLength { get; set; }

        public void ResetEvaluation()
        {
            RaisePendingSinceMs = null;
            ClearPendingSinceMs = null;
            PreviousReadingMs = null;
            PreviousValue = null;
            RunStartMs = null;
            RunStartValue = null;
            RunLength = 0;
        }

        public AlertRuleState ToState() => new(
            Id, Type, Alert, Latched, RaisePendingSinceMs, ClearPendingSinceMs, [.. RecentRaisesMs],
            PreviousReadingMs, PreviousValue, RunStartMs, RunStartValue, RunLength);

        public void Load(AlertRuleState state)
        {
            Alert = state.Alert;
            Latched = state.Latched;
            RaisePendingSinceMs = state.RaisePendingSinceMs;
            ClearPendingSinceMs = state.ClearPendingSinceMs;
            RecentRaisesMs.Clear();
            RecentRaisesMs.AddRange(state.RecentRaisesMs ?? []);
            PreviousReadingMs = state.PreviousReadingMs;
            PreviousValue = state.PreviousValue;
            RunStartMs = state.RunStartMs;
            RunStartValue = state.RunStartValue;
            RunLength = state.RunLength;
        }
    }
}
