using Telemetry.Contracts;

namespace Telemetry.Domain.Alerts;

/// <summary>
/// The pure rules of the alert outboxes (docs/alerts.md, "Delivery"): which notification a recorded step becomes, what
/// stands in for steps that are no longer in the alert index's log, and when a failed notification is tried again.
/// </summary>
public static class AlertDeliveryRules
{
    /// <summary>The first retry waits this long; each further one twice as long, up to the destination's maximum.</summary>
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>The notification kind of a lifecycle step.</summary>
    public static AlertNotificationKind KindOf(AlertEvent alertEvent) => alertEvent switch
    {
        AlertEvent.Raised => AlertNotificationKind.Raised,
        AlertEvent.Acknowledged => AlertNotificationKind.Acknowledged,
        AlertEvent.Cleared => AlertNotificationKind.Cleared,
        _ => throw new ArgumentOutOfRangeException(nameof(alertEvent), alertEvent, "not a lifecycle step"),
    };

    /// <summary>The notification of a recorded step: same kind, same time, so the same idempotency key on every node and after every restart.</summary>
    public static AlertNotification Of(AlertStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var kind = KindOf(step.Event);
        return new AlertNotification(AlertNotification.KeyOf(step.Alert, kind, step.AtMs), kind, step.AtMs, step.Alert, 0);
    }

    /// <summary>
    /// What stands in for the steps of an active alert that an outbox can no longer read one by one (they fell out of
    /// the index's log): the step that brought it to its current state — its acknowledgement if it was acknowledged,
    /// its raise otherwise — with that step's time, hence the key the original notification had (a receiver that got
    /// it drops the repeat).
    /// </summary>
    public static AlertNotification CurrentStateOf(AlertInfo alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var (kind, atMs) = alert.State == AlertState.Acknowledged && alert.AcknowledgedAtMs is { } ack
            ? (AlertNotificationKind.Acknowledged, ack)
            : (AlertNotificationKind.Raised, alert.RaisedAtMs);
        return new AlertNotification(AlertNotification.KeyOf(alert, kind, atMs), kind, atMs, alert, 0);
    }

    /// <summary>
    /// The pause before the next attempt after <paramref name="failedAttempts"/> failed ones (1 or more): exponential
    /// from <see cref="FirstRetryDelay"/>, doubled per failure, capped at <paramref name="maxDelay"/>, then scaled by
    /// a jitter factor between 0.5 and 1 (<paramref name="jitter"/> in [0, 1)) so that outboxes failing together do
    /// not retry in step. Polly computes the same kind of schedule, but only in memory around one call; the outbox
    /// stores the resulting time with the notification (a retry must survive a restart), so the schedule is computed
    /// here, as data.
    /// </summary>
    public static TimeSpan RetryDelay(int failedAttempts, TimeSpan maxDelay, double jitter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxDelay, TimeSpan.Zero);
        if (jitter is < 0 or >= 1 || double.IsNaN(jitter))
        {
            throw new ArgumentOutOfRangeException(nameof(jitter), jitter, "must be in [0, 1)");
        }

        // 2^30 s is far beyond any cap; the exponent is clamped so the double never overflows.
        var exponential = FirstRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failedAttempts - 1, 30));
        var capped = Math.Min(exponential, maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(Math.Max(1, capped * (0.5 + (jitter / 2))));
    }

    /// <summary>Whether a notification taken at <paramref name="takenAtMs"/> is past <paramref name="maxAge"/> at <paramref name="nowMs"/> (given up, or expired before it was taken).</summary>
    public static bool IsTooOld(long takenAtMs, long nowMs, TimeSpan maxAge) =>
        nowMs - takenAtMs > (long)maxAge.TotalMilliseconds;
}
