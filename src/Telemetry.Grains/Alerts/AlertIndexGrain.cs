using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Utilities;
using Telemetry.Contracts;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Grains.Alerts.Delivery;
using Telemetry.Grains.Persistence;

namespace Telemetry.Grains.Alerts;

/// <summary>The persisted state of the alert index: active alerts by id and the most recent finished ones.</summary>
public sealed class AlertIndexState
{
    public Dictionary<string, AlertInfo> Active { get; set; } = new(StringComparer.Ordinal);

    public List<AlertInfo> Recent { get; set; } = [];

    /// <summary>The numbered most recent steps, which nodes catch up from (<see cref="AlertStepLog"/>).</summary>
    public AlertStepLog Log { get; set; } = new();
}

/// <summary>
/// The campus-wide list of alerts. Every lifecycle step is persisted before the call returns, so after a restart the
/// API, the campus figures and the retained MQTT alert messages start from what was active.
/// It also fans the steps out to every node's alert notifier (each node's broker has its own MQTT subscribers):
/// each step gets a sequence number and is kept in a short log; once persisted it is pushed to every subscribed
/// node's observer without waiting for them, and a node that missed pushes catches up from the log when it renews its
/// subscription (docs/alerts.md, "In a cluster").
/// </summary>
public sealed class AlertIndexGrain(
    [PersistentState("alerts", GrainStorage.Name)] IPersistentState<AlertIndexState> state,
    IOptions<CampusOptions> options,
    TelemetryMetrics metrics,
    TimeProvider clock,
    IServiceProvider services,
    ILogger<AlertIndexGrain> logger) : Grain, IAlertIndexGrain
{
    public const string Key = "campus";

    /// <summary>How long a node's observer stays subscribed without renewing (nodes renew every 5 s).</summary>
    public static readonly TimeSpan ObserverExpiry = TimeSpan.FromSeconds(15);

    // Orleans' own registry of observers with expiry, keyed by node name so a node's new observer replaces its old one.
    readonly ObserverManager<string, IAlertStepObserver> observers = new(ObserverExpiry, logger);
    readonly LogThrottle pushFailureLog = new(TimeSpan.FromSeconds(30), TimeProvider.System);

    public async Task Record(AlertStep alertStep)
    {
        ArgumentNullException.ThrowIfNull(alertStep);
        var alert = alertStep.Alert;
        if (alert.IsActive)
        {
            state.State.Active[alert.Id] = alert;
        }
        else
        {
            state.State.Active.Remove(alert.Id);
            state.State.Recent.RemoveAll(a => a.Id == alert.Id);
            state.State.Recent.Add(alert);
            var excess = state.State.Recent.Count - Math.Max(1, options.Value.RecentAlerts);
            if (excess > 0)
            {
                state.State.Recent.RemoveRange(0, excess);
            }
        }

        var sequenced = state.State.Log.Append(alertStep, clock.GetUtcNow().ToUnixTimeMilliseconds());
        await state.WriteStateAsync();
        Push(sequenced);
        WakeOutboxes();
    }

    /// <summary>
    /// Starts a <see cref="IAlertOutboxGrain.Wake"/> of every configured destination's outbox and returns without
    /// waiting (like <see cref="Push"/>): the outboxes read the step from the log themselves. A failed wake is counted
    /// and logged; every node wakes every outbox every 5 s anyway. Hosts without destinations (grain tests) wake none.
    /// </summary>
    void WakeOutboxes()
    {
        if (!string.Equals(this.GetPrimaryKeyString(), Key, StringComparison.Ordinal)
            || services.GetService<IAlertDestinations>() is not { } destinations)
        {
            return;
        }

        foreach (var destination in destinations.All)
        {
            var name = destination.Name;
            Start(() => GrainFactory.GetGrain<IAlertOutboxGrain>(name).Wake(), error => WakeFailed(name, error));
        }
    }

    /// <summary>Starts a call without waiting for it; <paramref name="failed"/> gets what went wrong, whether the call threw at once or failed later.</summary>
    static void Start(Func<Task> call, Action<Exception?> failed)
    {
        Task started;
        try
        {
            started = call();
        }
        catch (Exception ex)
        {
            failed(ex);
            return;
        }

        _ = started.ContinueWith(
            task => failed(task.Exception?.InnerException),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Default);
    }

    void WakeFailed(string destination, Exception? error)
    {
        metrics.AlertOutboxProblems.Add(1, new KeyValuePair<string, object?>("destination", destination), new KeyValuePair<string, object?>("reason", "wake_failed"));
        if (pushFailureLog.ShouldLog("wake:" + destination, out var suppressed))
        {
            logger.LogWarning("The alert outbox {Destination} could not be woken after a step ({Error}); it reads the step at its next periodic wake ({Suppressed} more since the last such line)",
                Text.ForLog(destination), error?.Message, suppressed);
        }
    }

    public Task<AlertFeed> Subscribe(string nodeName, IAlertStepObserver observer, long afterSeq)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeName);
        ArgumentNullException.ThrowIfNull(observer);
        observers.Subscribe(nodeName, observer);
        return GetSteps(afterSeq);
    }

    public Task<AlertFeed> GetSteps(long afterSeq)
    {
        var log = state.State.Log;
        var steps = log.After(afterSeq, out var gap);
        return Task.FromResult(steps is null
            ? new AlertFeed(log.LastSeq, [], [.. state.State.Active.Values.OrderBy(a => a.RaisedAtMs)], gap)
            : new AlertFeed(log.LastSeq, steps, null, null));
    }

    /// <summary>
    /// Starts the call to every node's observer and returns without waiting: a slow or dead node must not hold the
    /// index (and with it every sensor grain raising an alert). A failed call is counted and logged; the node gets the
    /// step when it renews its subscription (catch-up from the log), or its observer expires.
    /// </summary>
    void Push(SequencedAlertStep sequenced)
    {
        // A statement lambda picks ObserverManager's synchronous Notify: its Task overload awaits each observer in turn.
        observers.Notify(observer =>
        {
            Start(() => observer.OnStep(sequenced.Seq, sequenced.Step), error => PushFailed(sequenced.Seq, error));
        });
    }

    void PushFailed(long seq, Exception? error)
    {
        var reason = error is TimeoutException ? "timeout" : "error";
        metrics.AlertFanoutPushFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));
        if (pushFailureLog.ShouldLog(reason, out var suppressed))
        {
            logger.LogWarning("Alert step {Seq} could not be pushed to a node's notifier ({Reason}: {Error}); the node catches up when it renews its subscription ({Suppressed} more since the last such line)",
                seq, reason, error, suppressed);
        }
    }

    public Task<IReadOnlyList<AlertInfo>> GetActive() =>
        Task.FromResult<IReadOnlyList<AlertInfo>>([.. state.State.Active.Values.OrderByDescending(a => a.RaisedAtMs)]);

    public Task<IReadOnlyList<AlertInfo>> GetRecent(int max)
    {
        var recent = state.State.Recent.AsEnumerable().Reverse().Take(Math.Clamp(max, 1, 10_000));
        return Task.FromResult<IReadOnlyList<AlertInfo>>([.. recent]);
    }

    public Task<AlertInfo?> Find(string alertId) =>
        Task.FromResult(state.State.Active.GetValueOrDefault(alertId) ?? state.State.Recent.FindLast(a => a.Id == alertId));
}
