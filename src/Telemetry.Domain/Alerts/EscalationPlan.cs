using Telemetry.Contracts;

namespace Telemetry.Domain.Alerts;

/// <summary>
/// What a severity's escalation policy asks for (configuration <c>Alerts:Escalation:{Info|Warning|Critical}</c>,
/// validated by the host before it becomes a policy): re-send an unacknowledged alert every
/// <see cref="RenotifyEvery"/>, and send it once to <see cref="EscalateTo"/> when it is still unacknowledged
/// <see cref="EscalateAfter"/> after it was raised. Either may be null (not done).
/// </summary>
public sealed record EscalationPolicy(TimeSpan? RenotifyEvery, TimeSpan? EscalateAfter, IReadOnlyList<string> EscalateTo)
{
    /// <summary>Whether the policy does anything at all (otherwise alerts of its severity are not watched).</summary>
    public bool IsEmpty => RenotifyEvery is null && (EscalateAfter is null || EscalateTo.Count == 0);
}

/// <summary>
/// One active, unacknowledged alert the escalation watches (persisted in the escalation grain's state):
/// <see cref="Alert"/> as it was raised, <see cref="Repeats"/> re-notifications sent so far, the last at
/// <see cref="LastRenotifiedAtMs"/> (its due time; the raise time before the first), and whether it was escalated.
/// </summary>
public sealed record EscalationWatch(AlertInfo Alert, int Repeats, long LastRenotifiedAtMs, bool Escalated)
{
    /// <summary>A new watch of a raised alert: nothing sent yet.</summary>
    public static EscalationWatch Of(AlertInfo alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return new EscalationWatch(alert, 0, alert.RaisedAtMs, false);
    }
}

/// <summary>
/// What falls due for one watch at a time: a re-notification (its due time <see cref="RenotifyAtMs"/> and its number
/// <see cref="Repeat"/>), the escalation (due at <see cref="EscalateAtMs"/>), the watch as it is once those are sent
/// (<see cref="After"/>), and when the next thing falls due (<see cref="NextDueMs"/>; null: nothing ever again, the
/// watch can be dropped).
/// </summary>
public sealed record EscalationDue(long? RenotifyAtMs, int Repeat, long? EscalateAtMs, EscalationWatch After, long? NextDueMs)
{
    public bool Any => RenotifyAtMs is not null || EscalateAtMs is not null;
}

/// <summary>
/// The one place that decides when an unacknowledged alert is re-notified and escalated (docs/alerts.md,
/// "Escalation and re-notification"), and which alerts are watched. Pure: the escalation grain keeps the watches,
/// feeds the alert index's steps in and sends what this says is due.
/// <para>
/// Re-notification n is due at <c>last + RenotifyEvery</c> (last: the previous re-notification's due time, the raise
/// time before the first). When several fell due while nothing ran (the service was down), one is sent, at the newest
/// due time, so a restart does not send a burst. Due times are computed from the watch alone, so the notification's
/// idempotency key (<see cref="AlertNotification.KeyOf"/> with the due time) is the same when a crash makes the grain
/// send it again. The escalation is due once, at <c>raised + EscalateAfter</c>.
/// </para>
/// </summary>
public static class EscalationPlan
{
    /// <summary>What is due for <paramref name="watch"/> at <paramref name="nowMs"/> under <paramref name="policy"/> (null: no policy, nothing is ever due).</summary>
    public static EscalationDue Due(EscalationWatch watch, EscalationPolicy? policy, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(watch);
        if (policy is null || policy.IsEmpty || watch.Alert.State != AlertState.Active)
        {
            return new EscalationDue(null, watch.Repeats, null, watch, null);
        }

        var after = watch;
        long? renotifyAt = null;
        long? nextRenotify = null;
        if (policy.RenotifyEvery is { } every)
        {
            var everyMs = Math.Max(1, (long)every.TotalMilliseconds);
            var due = watch.LastRenotifiedAtMs + everyMs;
            if (nowMs >= due)
            {
                // The newest due time not after now: one re-notification for however many periods passed.
                var at = watch.LastRenotifiedAtMs + ((nowMs - watch.LastRenotifiedAtMs) / everyMs * everyMs);
                renotifyAt = at;
                after = after with { Repeats = watch.Repeats + 1, LastRenotifiedAtMs = at };
            }

            nextRenotify = after.LastRenotifiedAtMs + everyMs;
        }

        long? escalateAt = null;
        long? nextEscalate = null;
        if (policy.EscalateAfter is { } delay && policy.EscalateTo.Count > 0 && !watch.Escalated)
        {
            var due = watch.Alert.RaisedAtMs + Math.Max(1, (long)delay.TotalMilliseconds);
            if (nowMs >= due)
            {
                escalateAt = due;
                after = after with { Escalated = true };
            }
            else
            {
                nextEscalate = due;
            }
        }

        long? next = (nextRenotify, nextEscalate) switch
        {
            ({ } r, { } e) => Math.Min(r, e),
            ({ } r, null) => r,
            (null, { } e) => e,
            _ => null,
        };
        return new EscalationDue(renotifyAt, after.Repeats, escalateAt, after, next);
    }

    /// <summary>
    /// Applies an alert step to the watches (by alert id): a raise of a severity with a policy starts a watch (an
    /// existing watch of the same alert is kept), an acknowledgement or clear ends it.
    /// </summary>
    public static void Follow(IDictionary<string, EscalationWatch> watches, AlertStep step, Func<AlertSeverity, EscalationPolicy?> policyOf)
    {
        ArgumentNullException.ThrowIfNull(watches);
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(policyOf);
        var alert = step.Alert;
        if (step.Event == AlertEvent.Raised && alert.State == AlertState.Active)
        {
            if (!watches.ContainsKey(alert.Id) && policyOf(alert.Severity) is { IsEmpty: false })
            {
                watches[alert.Id] = EscalationWatch.Of(alert);
            }
        }
        else
        {
            watches.Remove(alert.Id);
        }
    }

    /// <summary>
    /// Replaces the watches by the active set (when the steps in between are no longer in the index's log): every
    /// active unacknowledged alert with a policy is watched, an existing watch keeping what it has sent; the others
    /// are dropped.
    /// </summary>
    public static void Resync(IDictionary<string, EscalationWatch> watches, IEnumerable<AlertInfo> active, Func<AlertSeverity, EscalationPolicy?> policyOf)
    {
        ArgumentNullException.ThrowIfNull(watches);
        ArgumentNullException.ThrowIfNull(active);
        ArgumentNullException.ThrowIfNull(policyOf);
        var keep = new Dictionary<string, EscalationWatch>(StringComparer.Ordinal);
        foreach (var alert in active)
        {
            if (alert.State == AlertState.Active && policyOf(alert.Severity) is { IsEmpty: false })
            {
                keep[alert.Id] = watches.TryGetValue(alert.Id, out var existing) ? existing : EscalationWatch.Of(alert);
            }
        }

        watches.Clear();
        foreach (var (id, watch) in keep)
        {
            watches[id] = watch;
        }
    }
}
