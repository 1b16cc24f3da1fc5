using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Observability;
using Telemetry.Grains.Persistence;

namespace Telemetry.Grains.Alerts.Delivery;

/// <summary>The escalation's persisted state: its cursor on the alert index's log and the watched alerts by id.</summary>
public sealed class AlertEscalationState
{
    /// <summary>The newest alert index sequence number taken (-1: none yet).</summary>
    public long Cursor { get; set; } = -1;

    public Dictionary<string, EscalationWatch> Watches { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Re-notifies and escalates alerts nobody acknowledges (key <c>campus</c>; docs/alerts.md, "Escalation and
/// re-notification"). It reads the alert index's steps after its persisted cursor (<see cref="IAlertIndexGrain.GetSteps"/>)
/// and keeps a watch per active unacknowledged alert whose severity has a policy (<see cref="EscalationOptions"/>);
/// acknowledging or clearing ends the watch. When the index's log no longer holds the steps after the cursor — and at
/// every activation, so a changed policy applies to the alerts already active — it takes the active set instead,
/// keeping what existing watches have sent. <see cref="EscalationPlan"/> decides what is due.
/// <para>
/// A grain timer runs a round at the next due time (at least every <see cref="MaxTick"/>); so does every
/// <see cref="Wake"/> (each node's host calls it every 5 s, which also brings the grain back after a restart or on
/// another node). A round enqueues <see cref="AlertNotificationKind.Renotified"/> in the outbox of every destination
/// that takes the alert's raise (and, once escalated, of the escalation destinations) and
/// <see cref="AlertNotificationKind.Escalated"/> in each escalation destination's outbox, then persists the watches.
/// A watch moves on only after all its enqueues succeeded: a failure is counted, logged and tried again next round; a
/// crash between the enqueue and the persist enqueues the same notifications again, with the same idempotency keys
/// (the due time is part of the key), which the outbox and the receivers drop as duplicates. Quiet windows are the
/// outbox's business, at delivery.
/// </para>
/// </summary>
public sealed class AlertEscalationGrain(
    [PersistentState("escalation", GrainStorage.Name)] IPersistentState<AlertEscalationState> state,
    IOptions<EscalationOptions> options,
    IEnumerable<IAlertDestination> destinations,
    IAlertOutboxes outboxes,
    TelemetryMetrics metrics,
    TimeProvider clock,
    ILogger<AlertEscalationGrain> logger) : Grain, IAlertEscalationGrain
{
    public const string Key = "campus";

    /// <summary>The longest time between two rounds of the timer.</summary>
    public static readonly TimeSpan MaxTick = TimeSpan.FromSeconds(10);

    /// <summary>The shortest: due times closer than this are taken together.</summary>
    static readonly TimeSpan MinTick = TimeSpan.FromMilliseconds(200);

    /// <summary>How soon notifications whose enqueue failed are tried again.</summary>
    static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    readonly LogThrottle problemLog = new(TimeSpan.FromMinutes(1), clock);
    readonly IReadOnlyList<IAlertDestination> all = [.. destinations];
    IGrainTimer? timer;
    bool resynced;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        timer = this.RegisterGrainTimer(RoundAsync, new GrainTimerCreationOptions(MinTick, MaxTick) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task Wake() => RoundAsync(CancellationToken.None);

    async Task RoundAsync(CancellationToken cancellationToken)
    {
        // The time before the steps are read: whatever falls due by then is sent knowing every acknowledgement made
        // before it, so nothing due after an acknowledgement is sent for it.
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (await ReadStepsAsync() is not { } changed)
        {
            // Without the index's news an acknowledgement could be missed: nothing is sent until it answers.
            timer?.Change(RetryDelay, MaxTick);
            return;
        }

        var (sent, next) = await SendDueAsync(now);
        if (changed || sent)
        {
            try
            {
                await state.WriteStateAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The watches in memory are ahead of the stored ones: the next round writes them; a crash before that
                // sends the same notifications again, under the same keys.
                Problem("state_failed", ex);
            }
        }

        var delay = next is { } due ? TimeSpan.FromMilliseconds(Math.Max(0, due - now)) : MaxTick;
        timer?.Change(delay < MinTick ? MinTick : delay > MaxTick ? MaxTick : delay, MaxTick);
    }

    /// <summary>Takes the index's steps after the cursor (or its active set); true when the watches or the cursor changed, null when the index did not answer.</summary>
    async Task<bool?> ReadStepsAsync()
    {
        AlertFeed feed;
        try
        {
            // At activation the whole active set, so that the policies in force now decide which alerts are watched.
            feed = await GrainFactory.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).GetSteps(resynced ? state.State.Cursor : -1);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Problem("index_failed", ex);
            return null;
        }

        var watches = state.State.Watches;
        if (feed.Active is { } active)
        {
            if (resynced && feed.Gap is { } gap)
            {
                metrics.AlertEscalationProblems.Add(1, new KeyValuePair<string, object?>("reason", gap));
                logger.LogWarning("Alert steps {From}..{To} are no longer in the alert index's log ({Reason}); the escalation watches the {Count} active alert(s) instead",
                    state.State.Cursor + 1, feed.LastSeq, gap, active.Count);
            }

            resynced = true;
            EscalationPlan.Resync(watches, active, Policy);
        }
        else
        {
            foreach (var step in feed.Steps)
            {
                EscalationPlan.Follow(watches, step.Step, Policy);
            }

            if (feed.Steps.Count == 0 && feed.LastSeq == state.State.Cursor)
            {
                return false;
            }
        }

        state.State.Cursor = feed.LastSeq;
        return true;
    }

    EscalationPolicy? Policy(AlertSeverity severity) => options.Value.PolicyOf(severity);

    /// <summary>Enqueues what is due; returns whether any watch changed and the next due time.</summary>
    async Task<(bool Changed, long? NextDueMs)> SendDueAsync(long now)
    {
        var watches = state.State.Watches;
        var due = new List<(string Id, EscalationDue Due)>();
        var byDestination = new Dictionary<string, List<(string Id, AlertNotification Notification)>>(StringComparer.Ordinal);
        var changed = false;
        long? next = null;
        foreach (var (id, watch) in watches.ToList())
        {
            var policy = Policy(watch.Alert.Severity);
            var plan = EscalationPlan.Due(watch, policy, now);
            if (!plan.Any)
            {
                if (plan.NextDueMs is null)
                {
                    watches.Remove(id); // nothing will ever be due (no policy any more, escalated and no re-notification)
                    changed = true;
                }
                else
                {
                    next = Min(next, plan.NextDueMs);
                }

                continue;
            }

            due.Add((id, plan));
            var alert = watch.Alert;
            if (plan.RenotifyAtMs is { } renotifyAt)
            {
                var notification = new AlertNotification(AlertNotification.KeyOf(alert, AlertNotificationKind.Renotified, renotifyAt),
                    AlertNotificationKind.Renotified, renotifyAt, alert, plan.Repeat);
                var targets = all.Where(d => d.Wants(alert, AlertNotificationKind.Raised)).Select(d => d.Name);
                if (watch.Escalated)
                {
                    targets = targets.Concat(policy!.EscalateTo);
                }

                foreach (var name in targets.Distinct(StringComparer.Ordinal))
                {
                    Add(byDestination, name, id, notification);
                }
            }

            if (plan.EscalateAtMs is { } escalateAt)
            {
                var notification = new AlertNotification(AlertNotification.KeyOf(alert, AlertNotificationKind.Escalated, escalateAt),
                    AlertNotificationKind.Escalated, escalateAt, alert, plan.Repeat);
                foreach (var name in policy!.EscalateTo.Distinct(StringComparer.Ordinal))
                {
                    Add(byDestination, name, id, notification);
                }
            }
        }

        var failed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (destination, items) in byDestination)
        {
            try
            {
                await outboxes.EnqueueAsync(destination, [.. items.Select(i => i.Notification)]);
                foreach (var item in items)
                {
                    metrics.AlertEscalationNotifications.Add(1, new KeyValuePair<string, object?>("kind", WireName.Of(item.Notification.Kind)));
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failed.UnionWith(items.Select(i => i.Id));
                Problem("enqueue_failed", ex);
            }
        }

        foreach (var (id, plan) in due)
        {
            if (failed.Contains(id))
            {
                next = Min(next, now + (long)RetryDelay.TotalMilliseconds); // the watch stays as it was: the same notifications again
                continue;
            }

            changed = true;
            if (plan.NextDueMs is null)
            {
                watches.Remove(id);
            }
            else
            {
                watches[id] = plan.After;
                next = Min(next, plan.NextDueMs);
            }
        }

        return (changed, next);
    }

    static void Add(Dictionary<string, List<(string, AlertNotification)>> byDestination, string destination, string id, AlertNotification notification)
    {
        if (!byDestination.TryGetValue(destination, out var list))
        {
            byDestination[destination] = list = [];
        }

        list.Add((id, notification));
    }

    static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    void Problem(string reason, Exception error)
    {
        metrics.AlertEscalationProblems.Add(1, new KeyValuePair<string, object?>("reason", reason));
        if (problemLog.ShouldLog(reason, out var suppressed))
        {
            logger.LogWarning("Alert escalation: {Reason} ({Error}); tried again at the next round ({Suppressed} more since the last such line)",
                reason, error.Message, suppressed);
        }
    }
}
