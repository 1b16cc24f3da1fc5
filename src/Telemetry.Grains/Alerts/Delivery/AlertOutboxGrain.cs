using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Domain.Reports;
using Telemetry.Grains.Persistence;

namespace Telemetry.Grains.Alerts.Delivery;

/// <summary>One notification waiting in an outbox, with its retry schedule (persisted: a retry survives a restart).</summary>
public sealed class OutboxEntry
{
    public AlertNotification Notification { get; set; } = null!;

    /// <summary>When the outbox took it (service time): <see cref="AlertDeliveryPolicy.MaxAge"/> counts from here.</summary>
    public long TakenAtMs { get; set; }

    /// <summary>Failed attempts so far.</summary>
    public int Attempts { get; set; }

    /// <summary>Not tried before this time (0: at once).</summary>
    public long NextAttemptAtMs { get; set; }

    public string? LastError { get; set; }
}

/// <summary>The persisted state of one destination's outbox.</summary>
public sealed class AlertOutboxState
{
    /// <summary>The alert index's sequence number up to which steps were taken (0: none yet; the first wake reads the whole log).</summary>
    public long Cursor { get; set; }

    /// <summary>Notifications not yet taken by the destination, in delivery order.</summary>
    public List<OutboxEntry> Pending { get; set; } = [];

    public long Delivered { get; set; }

    public long Suppressed { get; set; }

    public long GivenUp { get; set; }

    public long Expired { get; set; }

    public string? LastError { get; set; }
}

/// <summary>
/// The persistent outbox of one alert destination (key: the destination's name; docs/alerts.md, "Delivery").
/// <para>
/// Intake (<see cref="Wake"/>): reads the alert index's steps after its saved cursor, turns each step the destination
/// wants into an <see cref="AlertNotification"/> (idempotency key <c>{alertId}/{kind}/{atMs}</c>), and persists the new
/// entries together with the new cursor before any of them is sent. A kill before that write loses nothing: the next
/// wake reads the same steps again. Steps recorded more than <c>MaxAge</c> before they are read are counted as expired
/// and not taken (a new destination does not get a day-old backlog). When the steps after the cursor are no longer in
/// the index's log (<c>log_truncated</c>: more than 256 steps behind; <c>index_behind</c>: the index's state was
/// reset), the outbox takes the current state of each active alert instead (its raise, or its acknowledgement), with
/// the key the original step had; the clears in between are not sent. Counted and logged.
/// </para>
/// <para>
/// Delivery: a grain timer (interleaving with calls, so <see cref="Wake"/> and <see cref="GetStatus"/> answer while a
/// slow receiver is being waited for) sends the entries in order, one at a time. An entry is removed only after
/// <see cref="IAlertDestination.SendAsync"/> succeeded, and that removal is persisted; a kill in between sends it again
/// (at least once; the receiver drops the duplicate by its key). A failure schedules the next attempt with exponential
/// backoff and jitter, persisted in the entry; the entry is given up only after <c>MaxAge</c> (or <c>MaxAttempts</c>
/// when set), counted and logged. Before sending, the campus's quiet windows are checked: a suppressed notification is
/// counted and dropped. A state-driven destination (<see cref="IAlertDestination.RefreshInterval"/>) is also given the
/// wanted, unsuppressed active alerts every interval.
/// </para>
/// <para>
/// Woken by the alert index after each recorded step and by every node every 5 s (<c>AlertDeliveryWaker</c>), so a
/// restart or a move to another silo resumes delivery; Orleans keeps one activation per key, so there is one sender.
/// </para>
/// </summary>
public sealed class AlertOutboxGrain(
    [PersistentState("outbox", GrainStorage.Name)] IPersistentState<AlertOutboxState> state,
    IServiceProvider services,
    ICampusRegistrySource registry,
    TelemetryMetrics metrics,
    TimeProvider clock,
    ILogger<AlertOutboxGrain> logger) : Grain, IAlertOutboxGrain
{
    /// <summary>How often the timer looks for due notifications (cheap when none is due).</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Most notifications one outbox keeps; beyond it the oldest are dropped (counted as <c>overflow</c>, logged). The
    /// whole list is written on every change, so it must stay small enough to rewrite often.
    /// </summary>
    public const int MaxPending = 5000;

    // Entries added by an intake whose write has not completed: not sent before they are persisted.
    readonly HashSet<OutboxEntry> unsaved = new(ReferenceEqualityComparer.Instance);
    Task? writing;
    readonly LogThrottle problemLog = new(TimeSpan.FromSeconds(30), clock);
    IAlertDestination? destination;
    IGrainTimer? timer;
    bool delivering;
    long nextRefreshAtMs;
    int lastRefreshCount;
    (string Id, TimeZoneInfo Zone)? zone;

    string Name => this.GetPrimaryKeyString();

    AlertOutboxState State => state.State;

    long NowMs => clock.GetUtcNow().ToUnixTimeMilliseconds();

    IAlertIndexGrain Index => GrainFactory.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        destination = services.GetService<IAlertDestinations>()?.Find(Name);
        timer = this.RegisterGrainTimer(DeliverAsync, new GrainTimerCreationOptions(Tick, Tick) { Interleave = true, KeepAlive = true });
        metrics.SetOutboxPending(Name, State.Pending.Count);
        return Task.CompletedTask;
    }

    public async Task Wake()
    {
        if (destination is null)
        {
            Problem("unknown_destination", $"no destination named {Text.ForLog(Name)} is configured on this node; its {State.Pending.Count} pending notification(s) wait");
            return;
        }

        AlertFeed feed;
        try
        {
            feed = await Index.GetSteps(State.Cursor);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Problem("read_failed", $"could not read the alert index ({ex.Message}); the next wake tries again");
            return;
        }

        var now = NowMs;
        var policy = destination.Delivery;
        var taken = new List<AlertNotification>();
        long expired = 0;
        if (feed.Active is { } active)
        {
            var reason = feed.Gap ?? "unknown";
            Problem(reason, $"alert steps {State.Cursor + 1}..{feed.LastSeq} are no longer in the alert index's log; the current state of the {active.Count} active alert(s) is sent instead, clears in between are not");
            taken.AddRange(active.OrderBy(a => a.RaisedAtMs).Select(AlertDeliveryRules.CurrentStateOf).Where(n => destination.Wants(n.Alert, n.Kind)));
        }
        else
        {
            foreach (var step in feed.Steps)
            {
                var notification = AlertDeliveryRules.Of(step.Step);
                if (!destination.Wants(notification.Alert, notification.Kind))
                {
                    continue;
                }

                if (AlertDeliveryRules.IsTooOld(step.RecordedAtMs, now, policy.MaxAge))
                {
                    expired++;
                    continue;
                }

                taken.Add(notification);
            }
        }

        if (feed.LastSeq == State.Cursor && taken.Count == 0 && expired == 0)
        {
            return;
        }

        var previousCursor = State.Cursor;
        var added = Take(taken, now);
        State.Cursor = feed.LastSeq;
        State.Expired += expired;
        try
        {
            await SaveAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Not persisted: forget the intake, the next wake reads the same steps again.
            State.Pending.RemoveAll(added.Contains);
            unsaved.ExceptWith(added);
            State.Cursor = previousCursor;
            State.Expired -= expired;
            Problem("persist_failed", $"could not save {added.Count} new notification(s) ({ex.Message}); the next wake reads the steps again");
            return;
        }

        unsaved.ExceptWith(added);
        Count("expired", expired);
        if (feed.Active is not null)
        {
            Count("resynced", added.Count);
        }

        if (expired > 0)
        {
            logger.LogWarning("Alert outbox {Destination}: {Count} step(s) were recorded more than {MaxAge} before they were read and are not sent (expired)",
                Text.ForLog(Name), expired, policy.MaxAge);
        }

        Kick(added.Count);
    }

    public async Task Enqueue(IReadOnlyList<AlertNotification> notifications)
    {
        ArgumentNullException.ThrowIfNull(notifications);
        var added = Take(notifications, NowMs);
        if (added.Count == 0)
        {
            return;
        }

        try
        {
            await SaveAsync();
        }
        catch
        {
            State.Pending.RemoveAll(added.Contains);
            unsaved.ExceptWith(added);
            throw;
        }

        unsaved.ExceptWith(added);
        Kick(added.Count);
    }

    public Task<OutboxStatus> GetStatus() => Task.FromResult(new OutboxStatus(
        Name, State.Cursor, State.Pending.Count, State.Delivered, State.Suppressed, State.GivenUp,
        State.Pending.FirstOrDefault()?.LastError ?? State.LastError, lastRefreshCount, State.Expired));

    /// <summary>Appends the notifications not already pending (by key), dropping the oldest beyond <see cref="MaxPending"/>; the new entries stay unsent until saved.</summary>
    List<OutboxEntry> Take(IEnumerable<AlertNotification> notifications, long now)
    {
        var keys = State.Pending.Select(e => e.Notification.Key).ToHashSet(StringComparer.Ordinal);
        var added = new List<OutboxEntry>();
        foreach (var notification in notifications)
        {
            if (keys.Add(notification.Key))
            {
                var entry = new OutboxEntry { Notification = notification, TakenAtMs = now };
                added.Add(entry);
                unsaved.Add(entry);
                State.Pending.Add(entry);
            }
        }

        var excess = State.Pending.Count - MaxPending;
        if (excess > 0)
        {
            var dropped = State.Pending.Take(excess).ToList();
            State.Pending.RemoveRange(0, excess);
            State.GivenUp += excess;
            Count("overflow", excess);
            logger.LogError("Alert outbox {Destination} holds more than {Max} notifications: the {Count} oldest are dropped, e.g. {Key}",
                Text.ForLog(Name), MaxPending, excess, Text.ForLog(dropped[0].Notification.Key));
        }

        return added;
    }

    void Kick(int added)
    {
        if (added > 0)
        {
            timer?.Change(TimeSpan.Zero, Tick);
        }
    }

    /// <summary>The timer: refreshes a state-driven destination when due, then sends the due notifications in order until one fails or waits.</summary>
    async Task DeliverAsync(CancellationToken cancellationToken)
    {
        if (delivering || destination is null)
        {
            return;
        }

        delivering = true;
        try
        {
            var policy = destination.Delivery;
            QuietContext? quiet = null;
            if (destination.RefreshInterval is { } interval && NowMs >= nextRefreshAtMs)
            {
                nextRefreshAtMs = NowMs + (long)interval.TotalMilliseconds;
                quiet = await QuietAsync();
                await RefreshAsync(destination, quiet, cancellationToken);
            }

            while (!cancellationToken.IsCancellationRequested && State.Pending.Count > 0)
            {
                var entry = State.Pending[0];
                var now = NowMs;
                if (unsaved.Contains(entry))
                {
                    return; // sent once its intake is persisted
                }

                if (AlertDeliveryRules.IsTooOld(entry.TakenAtMs, now, policy.MaxAge))
                {
                    await GiveUpAsync(entry, $"older than MaxAge ({policy.MaxAge})");
                    continue;
                }

                if (entry.NextAttemptAtMs > now)
                {
                    return;
                }

                quiet ??= await QuietAsync();
                if (QuietWindowRules.Suppressing(quiet.Windows, entry.Notification.Alert, now, quiet.Zone) is { } window)
                {
                    State.Pending.Remove(entry);
                    State.Suppressed++;
                    Count("suppressed", 1);
                    logger.LogDebug("Alert outbox {Destination}: {Key} suppressed by quiet window {Window}",
                        Text.ForLog(Name), Text.ForLog(entry.Notification.Key), Text.ForLog(window.Id));
                    if (!await TrySaveAsync())
                    {
                        return;
                    }

                    continue;
                }

                try
                {
                    await destination.SendAsync(entry.Notification, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    entry.Attempts++;
                    entry.LastError = ex.Message;
                    State.LastError = ex.Message;
                    if (policy.MaxAttempts > 0 && entry.Attempts >= policy.MaxAttempts)
                    {
                        await GiveUpAsync(entry, $"{entry.Attempts} attempts (MaxAttempts): {ex.Message}");
                        continue;
                    }

                    var delay = AlertDeliveryRules.RetryDelay(entry.Attempts, policy.MaxDelay, Random.Shared.NextDouble());
                    entry.NextAttemptAtMs = NowMs + (long)delay.TotalMilliseconds;
                    Count("retried", 1);
                    if (problemLog.ShouldLog("attempt", out var suppressed))
                    {
                        logger.LogWarning("Alert outbox {Destination}: attempt {Attempt} of {Key} failed ({Error}); retrying in {Delay}, {Pending} notification(s) wait ({Suppressed} more such lines held back)",
                            Text.ForLog(Name), entry.Attempts, Text.ForLog(entry.Notification.Key), Text.ForLog(ex.Message), delay, State.Pending.Count, suppressed);
                    }

                    await TrySaveAsync();
                    return;
                }

                State.Pending.Remove(entry);
                State.Delivered++;
                State.LastError = null; // the status shows a current problem, not one a later delivery got past
                Count("delivered", 1);
                if (!await TrySaveAsync())
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The activation is going away (shutdown, rebalancing): the entry being sent stays pending and is sent by
            // the next activation.
        }
        finally
        {
            delivering = false;
        }
    }

    async Task GiveUpAsync(OutboxEntry entry, string why)
    {
        State.Pending.Remove(entry);
        State.GivenUp++;
        Count("given_up", 1);
        logger.LogError("Alert outbox {Destination}: gave up notification {Key} ({Kind} of alert {AlertId}) after {Attempts} failed attempt(s), {Why}; last error: {Error}",
            Text.ForLog(Name), Text.ForLog(entry.Notification.Key), entry.Notification.Kind, Text.ForLog(entry.Notification.Alert.Id), entry.Attempts, why, Text.ForLog(entry.LastError ?? "none"));
        await TrySaveAsync();
    }

    async Task RefreshAsync(IAlertDestination target, QuietContext quiet, CancellationToken cancellationToken)
    {
        try
        {
            var now = NowMs;
            var active = await Index.GetActive();
            var given = active
                .Where(a => target.Wants(a, AlertDeliveryRules.CurrentStateOf(a).Kind))
                .Where(a => QuietWindowRules.Suppressing(quiet.Windows, a, now, quiet.Zone) is null)
                .ToList();
            await target.RefreshAsync(given, cancellationToken);
            lastRefreshCount = given.Count;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            State.LastError = ex.Message;
            Problem("refresh_failed", $"could not give the active alerts to the destination ({ex.Message}); tried again in {target.RefreshInterval}");
        }
    }

    /// <summary>The quiet windows and the campus time zone for one round; without them (the grain does not answer) nothing is suppressed: people must hear of alerts.</summary>
    async Task<QuietContext> QuietAsync()
    {
        var campusZone = ZoneOf(registry.Current.Campus.TimeZone);
        try
        {
            return new QuietContext(await GrainFactory.GetGrain<IQuietWindowGrain>(QuietWindowGrain.Key).GetWindows(), campusZone);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Problem("quiet_windows_unavailable", $"could not read the quiet windows ({ex.Message}); notifications are sent unsuppressed");
            return new QuietContext([], campusZone);
        }
    }

    TimeZoneInfo ZoneOf(string id)
    {
        if (zone is { } known && string.Equals(known.Id, id, StringComparison.Ordinal))
        {
            return known.Zone;
        }

        TimeZoneInfo resolved;
        try
        {
            resolved = LocalCalendar.ForZone(id).Zone;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            // The registry loader checks the zone; a node that lacks it reads schedules in UTC rather than not at all.
            Problem("quiet_windows_unavailable", $"the campus time zone {Text.ForLog(id)} is not known to this node ({ex.Message}); quiet-window schedules are read in UTC");
            resolved = TimeZoneInfo.Utc;
        }

        zone = (id, resolved);
        return resolved;
    }

    async Task SaveAsync()
    {
        // Intake and delivery interleave (the timer does): one write at a time, each of the state as it is when it
        // starts. The grain's turns run one at a time, so checking and setting `writing` between awaits is safe.
        while (writing is { } previous)
        {
            try
            {
                await previous;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Its caller handles its failure; this write goes ahead.
            }

            // This continuation may run before the one of the write's own caller: done is done either way.
            if (ReferenceEquals(writing, previous))
            {
                writing = null;
            }
        }

        var write = state.WriteStateAsync();
        writing = write;
        try
        {
            await write;
        }
        finally
        {
            if (ReferenceEquals(writing, write))
            {
                writing = null;
            }

            metrics.SetOutboxPending(Name, State.Pending.Count);
        }
    }

    /// <summary>Saves after a delivery step; a failed write is counted and logged, and delivery pauses until the next tick (the change is written with the next save).</summary>
    async Task<bool> TrySaveAsync()
    {
        try
        {
            await SaveAsync();
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Problem("persist_failed", $"could not save the outbox ({ex.Message}); a notification sent but not yet saved as sent may be sent again");
            return false;
        }
    }

    void Count(string outcome, long count)
    {
        if (count > 0)
        {
            metrics.AlertNotifications.Add(count,
                new KeyValuePair<string, object?>("destination", Name), new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    void Problem(string reason, string message)
    {
        metrics.AlertOutboxProblems.Add(1, new KeyValuePair<string, object?>("destination", Name), new KeyValuePair<string, object?>("reason", reason));
        if (problemLog.ShouldLog(reason, out var suppressed))
        {
            logger.LogWarning("Alert outbox {Destination}: {Problem} ({Reason}; {Suppressed} more such lines held back)", Text.ForLog(Name), message, reason, suppressed);
        }
    }

    sealed record QuietContext(IReadOnlyList<QuietWindow> Windows, TimeZoneInfo Zone);
}
