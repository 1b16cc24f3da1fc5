using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Domain.Sensors;
using Telemetry.Grains.Alerts;
using Telemetry.Grains.Cluster;
using Telemetry.Grains.Persistence;
using Telemetry.Storage;
using Telemetry.Storage.Schema;
using Telemetry.Storage.Spool;

namespace Telemetry.Grains.Sensors;

/// <summary>
/// One activation per sensor, carrying out what its <see cref="SensorModel"/> decides. The grain feeder hands it the
/// messages the broker made durable in a node's spool (<see cref="IngestBatch"/>, raw lines already written): it
/// accepts them into the roll-ups, writes the windows they closed, records how far into that spool it got, then
/// applies them (alerts, room report). A timer runs the offline check, writes <c>device_status</c> and flushes the
/// roll-ups of a sensor that went quiet.
/// <para>
/// Not reentrant: the feeder sends one batch per sensor at a time, and a tick, a checkpoint or an alert command must
/// never see a batch half applied. Only the pure reads (<see cref="GetSnapshot"/>, <see cref="GetAlerts"/>) interleave.
/// </para>
/// <para>
/// Persisted, for every sensor that has state (registered, or fed from a spool): alert engine state, roll-up windows,
/// counters and the position reached in each spool (<see cref="SensorGrainState.FeedPositions"/>). Written before an
/// alert step is published, every <c>Campus:DeviceStatusInterval</c> when changed, at the feeder's
/// <see cref="Checkpoint"/> when messages were taken since the last write, and at deactivation. So the saved state is
/// always the model after every message up to its recorded positions: after a crash the feed replays from its
/// consumed position (never past a grain's saved one) and <see cref="IngestBatch"/> skips what the state already
/// holds — each message counts once, and an alert step is never published twice. Activation therefore reads the state
/// of unregistered sensors too.
/// </para>
/// </summary>
public sealed class SensorGrain(
    ITelemetryWriter writer,
    ICampusRegistrySource registry,
    IOptions<CampusOptions> options,
    TelemetryMetrics metrics,
    AlertEngineProblems problems,
    TimeProvider time,
    ILogger<SensorGrain> logger) : Grain, ISensorGrain
{
    const string StateName = "sensor";

    /// <summary>Read and written by hand rather than through <c>[PersistentState]</c>: whether there is state to write is the grain's decision.</summary>
    readonly GrainState<SensorGrainState> persisted = new(new SensorGrainState());

    /// <summary>Per spool id, the position of the last message applied (persisted with the model's state).</summary>
    readonly Dictionary<string, SpoolPosition> feedPositions = new(StringComparer.Ordinal);

    SensorModel model = null!;
    IGrainTimer? timer;
    Task persistTail = Task.CompletedTask;

    /// <summary>Messages were applied since the state was last captured for a write.</summary>
    bool unsaved;

    /// <summary>Derived lines whose write failed: written first at the next batch (the call is retried) or at deactivation.</summary>
    List<string>? unwritten;

    /// <summary>Set when the model reports an engine problem: the index may hold alerts of this sensor it no longer knows.</summary>
    bool lostAlertsPending;

    string SensorId => this.GetPrimaryKeyString();

    IGrainStorage Storage => ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);

    /// <summary>
    /// The node's registry, or — while it disagrees with another live node's (<see cref="IRegistryAgreement"/>; absent
    /// in hosts without a cluster view, which never hold) — the one this grain last applied: a registration change is
    /// taken up once the nodes agree, so a rollout in progress cannot close and drop alert state that the other nodes'
    /// registry still runs (docs/operations.md, "Changing the registry in a cluster").
    /// </summary>
    CampusRegistry RegistryInForce =>
        model.RegistryToApply(registry.Current, ServiceProvider.GetService<IRegistryAgreement>()?.HoldsRegistryChanges == true);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Every sensor: an unregistered one fed from a spool has state too (its roll-ups and spool positions).
        await Storage.ReadStateAsync(StateName, this.GetGrainId(), persisted);
        var saved = persisted.RecordExists ? persisted.State : null;
        foreach (var (spoolId, position) in saved?.FeedPositions ?? [])
        {
            feedPositions[spoolId] = position;
        }

        var campus = options.Value;
        var settings = new SensorSettings(campus.RollupWindow, campus.RollupLateness, campus.RollupIdleFlush, campus.DeviceStatusInterval,
            new AlertEngineOptions { FlapThreshold = campus.AlertFlapThreshold, FlapWindow = campus.AlertFlapWindow });
        model = new SensorModel(SensorId, saved?.ToModel(), settings, time, out var rollupError);
        if (rollupError is not null)
        {
            logger.LogWarning("Sensor {Sensor}: its saved roll-up windows do not restore ({Error}); they start empty", SensorId, rollupError);
        }

        // An entry left by an earlier activation of this sensor is stale: this activation reports its own.
        problems.Resolve(SensorId);
        var output = new SensorOutput();
        model.Refresh(RegistryInForce, output);
        Follow(output);
        await ClearLostAlertsAsync();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        var output = new SensorOutput();
        model.Flush(output);
        try
        {
            var lines = TakeUnwritten(DerivedLines(output));
            if (lines.Count > 0)
            {
                await writer.WriteDerivedAsync(lines, cancellationToken);
            }

            await PersistAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogWarning("Sensor {Sensor}: could not write its open roll-up windows or state at deactivation: {Error}", SensorId, ex.Message);
        }
    }

    /// <summary>
    /// Messages durable in the spool <see cref="FeedBatch.SpoolId"/>, in spool order: those at or before the position
    /// recorded for that spool are a replay and skipped; the rest are accepted into one output, the windows they closed
    /// written (not the raw lines: the broker wrote those), the position set to the batch's last message, then applied.
    /// Faults only when the derived lines could not be written (the feeder retries the batch).
    /// </summary>
    public async Task IngestBatch(FeedBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var recorded = feedPositions.TryGetValue(batch.SpoolId, out var known) ? known : (SpoolPosition?)null;
        if (batch.HandedBefore is { } before && (recorded is not { } held || held < new SpoolPosition(before.Segment, before.Offset)))
        {
            // The feeder handed this grain messages it no longer holds (its node died before it saved them): applying
            // this batch would skip them for good. Set aside; the feeder's next checkpoint finds the gap and feeds
            // again from its consumed position, in order.
            metrics.FeedGaps.Add(1);
            if (GapLog.ShouldLog("feed_gap", out var suppressed))
            {
                logger.LogWarning("Sensor {Sensor}: spool {Spool} handed it messages up to {Before} that its state does not hold (it holds up to {Held}); a batch of {Count} message(s) waits for the feed to rewind ({Suppressed} others not logged in the last {Interval})",
                    Text.ForLog(SensorId), Text.ForLog(batch.SpoolId), $"{before.Segment}:{before.Offset}", recorded?.ToString() ?? "none", batch.Messages.Count,
                    suppressed, MovedLogInterval);
            }

            return;
        }

        IReadOnlyList<FedMessage> fresh = recorded is { } after
            ? [.. batch.Messages.Where(m => new SpoolPosition(m.Segment, m.Offset) > after)]
            : batch.Messages;
        if (fresh.Count < batch.Messages.Count)
        {
            metrics.FeedMessagesReplayed.Add(batch.Messages.Count - fresh.Count);
        }

        if (fresh.Count == 0)
        {
            return;
        }

        var output = new SensorOutput();
        foreach (var fed in fresh)
        {
            model.Accept(fed.Message, RegistryInForce, output);
        }

        Follow(output);
        await WriteDerivedAsync(DerivedLines(output));

        // The closed windows are durable: from here on nothing may fail the call, or the feeder would send the batch
        // again (it would be skipped, but the alerts and room report below would be lost).
        var last = fresh[^1];
        feedPositions[batch.SpoolId] = new SpoolPosition(last.Segment, last.Offset);
        unsaved = true;
        try
        {
            foreach (var fed in fresh)
            {
                model.Apply(fed.Message, output);
            }

            Follow(output);
            LogMoves(output.Moves);

            await PublishAsync(output.Steps);
            await ClearLostAlertsAsync();
            await ReportAsync(force: false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogError("Sensor {Sensor}: its readings are applied, but delivering their alert steps or room report failed: {Error}",
                Text.ForLog(SensorId), ex.Message);
        }
    }

    /// <summary>
    /// Saves the state if messages were applied since it was last saved (the grain feeder's checkpoint round), then
    /// answers whether the saved position for <paramref name="spoolId"/> covers <paramref name="handedUpTo"/>.
    /// </summary>
    public async Task<bool> Checkpoint(string spoolId, FeedPosition? handedUpTo)
    {
        ArgumentNullException.ThrowIfNull(spoolId);
        if (unsaved)
        {
            await PersistAsync();
        }

        return handedUpTo is null
            || (feedPositions.TryGetValue(spoolId, out var held) && held >= new SpoolPosition(handedUpTo.Segment, handedUpTo.Offset));
    }

    /// <summary>Writes derived lines, after any whose earlier write failed; on failure keeps them all for the next try.</summary>
    async Task WriteDerivedAsync(List<string> lines)
    {
        lines = TakeUnwritten(lines);
        if (lines.Count == 0)
        {
            return;
        }

        try
        {
            await writer.WriteDerivedAsync(lines, CancellationToken.None);
        }
        catch
        {
            unwritten = lines;
            throw;
        }
    }

    List<string> TakeUnwritten(List<string> lines)
    {
        if (unwritten is not { } earlier)
        {
            return lines;
        }

        unwritten = null;
        earlier.AddRange(lines);
        return earlier;
    }

    /// <summary>
    /// One "moved" line per <see cref="MovedLogInterval"/> for the whole silo (throttled by the event, not by the sensor
    /// id a device chooses), with the number of moves held back since: an unregistered sensor alternating between two
    /// topics moves with every message.
    /// </summary>
    void LogMoves(List<SensorMove> moves)
    {
        foreach (var move in moves)
        {
            if (MovedLog.ShouldLog("sensor_moved", out var suppressed))
            {
                logger.LogInformation("Sensor {Sensor} moved from {OldBuilding}/{OldRoom} to {Building}/{Room} ({Suppressed} other moves not logged in the last {Interval})",
                    Text.ForLog(move.To.Sensor), Text.ForLog(move.From.Building), Text.ForLog(move.From.Room), Text.ForLog(move.To.Building), Text.ForLog(move.To.Room),
                    suppressed, MovedLogInterval);
            }
        }
    }

    static readonly TimeSpan MovedLogInterval = TimeSpan.FromSeconds(10);
    static readonly LogThrottle MovedLog = new(MovedLogInterval, TimeProvider.System, maxKeys: 1);
    static readonly LogThrottle GapLog = new(MovedLogInterval, TimeProvider.System, maxKeys: 1);

    public Task<SensorSnapshot?> GetSnapshot() => Task.FromResult(model.Snapshot);

    /// <summary>
    /// Called by the campus at start and after each registry reload: activation does the work for a new grain; a grain
    /// already active (e.g. as an unregistered sensor that the reload just registered) takes up its registration now.
    /// </summary>
    public async Task Start()
    {
        var output = new SensorOutput();
        model.Refresh(RegistryInForce, output);
        Follow(output);
        await PublishAsync(output.Steps);
        await ClearLostAlertsAsync();
    }

    public Task Disconnected(long atMs)
    {
        model.Disconnected(atMs);
        return Task.CompletedTask;
    }

    public Task Connected(long atMs)
    {
        model.Connected(atMs);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<AlertInfo>> GetAlerts() => Task.FromResult(model.Alerts);

    public Task<AlertCommandResult> Acknowledge(string alertId, string by, string? note) =>
        ActAsync(output => model.Acknowledge(alertId, by, note, output));

    public Task<AlertCommandResult> ClearAlert(string alertId, string by) =>
        ActAsync(output => model.Clear(alertId, by, output));

    async Task<AlertCommandResult> ActAsync(Func<SensorOutput, AlertCommandResult> action)
    {
        var output = new SensorOutput();
        var result = action(output);
        await PublishAsync(output.Steps);
        return result;
    }

    /// <summary>
    /// Persists the alert state, writes each step to InfluxDB, records it in the alert index (which fans it out to every
    /// node's MQTT broker and wakes the destinations' outboxes): a step is published only once it survives a restart.
    /// </summary>
    async Task PublishAsync(List<AlertStep> steps)
    {
        if (steps.Count == 0)
        {
            return;
        }

        await PersistAsync();
        try
        {
            await writer.WriteDerivedAsync([.. steps.SelectMany(SeriesLines.AlertLines)], CancellationToken.None);
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or UnauthorizedAccessException)
        {
            // The spool is full or the disk refuses: the steps still reach the alert index, MQTT and webhooks (people
            // must hear of a freezer failure even when InfluxDB is far behind); only their InfluxDB points are missing.
            logger.LogError("Sensor {Sensor}: could not write {Count} alert step(s) to the spool; they are delivered but missing from InfluxDB: {Error}",
                SensorId, steps.Count, ex.Message);
        }

        var index = GrainFactory.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key);
        foreach (var step in steps)
        {
            await index.Record(step);
            metrics.AlertSteps.Add(1, new KeyValuePair<string, object?>("event", WireName.Of(step.Event)), new KeyValuePair<string, object?>("severity", WireName.Of(step.Alert.Severity)));
            logger.LogInformation("Alert {AlertId} {Event}: {Severity} {Message}", step.Alert.Id, step.Event, step.Alert.Severity, step.Alert.Message);
        }

        if (steps.Any(s => s.Alert.RuleType == AlertRuleType.Offline))
        {
            await ReportAsync(force: true);
        }
    }

    /// <summary>Tells the room this sensor's figures and whether it is online; on a change of the latter, writes the device status.</summary>
    async Task ReportAsync(bool force)
    {
        if (model.Report(force) is not { } report)
        {
            return;
        }

        await GrainFactory.GetGrain<IRoomGrain>(CampusKeys.Room(report.Building, report.Room)).Report(report.Report);
        if (report.OnlineChanged)
        {
            await WriteStatusAsync();
        }
    }

    async Task WriteStatusAsync()
    {
        if (model.Status() is { } s)
        {
            await writer.WriteDerivedAsync([SeriesLines.Device(s.At, s.Kind, s.Online, s.LastSeenAgeSeconds, s.MessagesTotal, s.ReadingsTotal, s.Battery, s.Rssi, s.AtMs)],
                CancellationToken.None);
        }
    }

    async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            var output = new SensorOutput();
            model.Tick(RegistryInForce, output);
            Follow(output);

            // The flushed windows first: the state persisted with the alert steps below counts them as written.
            if (output.Rollups.Count > 0)
            {
                await writer.WriteDerivedAsync(DerivedLines(output), cancellationToken);
            }

            await PublishAsync(output.Steps);
            await ClearLostAlertsAsync();

            await ReportAsync(force: false);
            if (model.StatusDue)
            {
                await WriteStatusAsync();
                if (model.IsDirty)
                {
                    await PersistAsync();
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
        {
            logger.LogWarning("Sensor {Sensor}: periodic check failed: {Error}", SensorId, ex.Message);
        }
    }

    /// <summary>
    /// The grain's part of what the model noticed: roll-up counters, the timer, and alert-engine problems (logged once
    /// each). Consumes what it handled, so it may be called again on the same output after a later step.
    /// </summary>
    void Follow(SensorOutput output)
    {
        if (output.TooLateReadings > 0)
        {
            metrics.RollupTooLate.Add(output.TooLateReadings);
            logger.LogDebug("Sensor {Sensor}: {Count} reading(s) too late for their roll-up window; stored raw only", SensorId, output.TooLateReadings);
            output.TooLateReadings = 0;
        }

        if (output.DuplicateReadings > 0)
        {
            metrics.RollupDuplicates.Add(output.DuplicateReadings);
            output.DuplicateReadings = 0;
        }

        if (output.RegistrationChanged)
        {
            output.RegistrationChanged = false;
            timer?.Dispose();

            // Registered sensors stay active: their offline clock must run even when they are silent.
            timer = model.TickPeriod is { } period
                ? this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(period, period) { KeepAlive = true })
                : null;
        }

        if (output.EngineProblemChanged)
        {
            output.EngineProblemChanged = false;
            if (model.EngineProblem is { } problem)
            {
                lostAlertsPending = true;
                problems.Report(problem);
                metrics.AlertEngineFailures.Add(1, new KeyValuePair<string, object?>("fault", WireName.Of(problem.Fault)));
                logger.LogError("Sensor {Sensor}: its alerts do not fully run ({Problem}); its readings are stored regardless", SensorId, problem);
            }
            else
            {
                problems.Resolve(SensorId);
                logger.LogInformation("Sensor {Sensor}: its alert engine runs as configured again", SensorId);
            }
        }
    }

    /// <summary>
    /// After an engine problem, the alerts the alert index still holds open for this sensor but its engine no longer
    /// knows are cleared ("state lost") through the usual path (InfluxDB, index, MQTT, webhooks): otherwise they would
    /// stay listed as active, retained over MQTT, and refuse every acknowledgement. A failure here is retried at the
    /// next message or tick; it never stops ingestion.
    /// </summary>
    async Task ClearLostAlertsAsync()
    {
        if (!lostAlertsPending)
        {
            return;
        }

        // Taken before the await, so an interleaving call does not clear the same alerts again;
        // the engine's open alerts are read after it, so one raised meanwhile is not taken for lost.
        lostAlertsPending = false;
        try
        {
            var active = await GrainFactory.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).GetActive();
            var known = model.Alerts.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var lost = active
                .Where(a => a.Sensor == SensorId && !known.Contains(a.Id))
                .Select(a => new AlertStep(AlertEvent.Cleared, now, a with { State = AlertState.Cleared, ClearedAtMs = now, ClearedBy = Alert.ClearedByStateLost }))
                .ToList();
            await PublishAsync(lost);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            lostAlertsPending = true;
            logger.LogWarning("Sensor {Sensor}: could not clear the alerts its lost alert state had open; retrying later: {Error}", SensorId, ex.Message);
        }
    }

    /// <summary>The roll-up windows of <paramref name="output"/> (its raw readings are already in the spool).</summary>
    static List<string> DerivedLines(SensorOutput output)
    {
        var lines = new List<string>(output.Rollups.Count);
        foreach (var (where, kind, p) in output.Rollups)
        {
            lines.Add(SeriesLines.RollupWindow(where, kind, p.Metric, p.WindowStartMs, p.Min, p.Max, p.Mean, p.Count, p.Last));
        }

        return lines;
    }

    /// <summary>
    /// Writes the state after any write still in flight (pure reads interleave; writes must not overlap). A sensor has
    /// state to write when it is registered or has been fed from a spool.
    /// </summary>
    Task PersistAsync()
    {
        if (model.Registered is null && feedPositions.Count == 0)
        {
            return Task.CompletedTask;
        }

        persistTail = PersistAfterAsync(persistTail);
        return persistTail;
    }

    async Task PersistAfterAsync(Task previous)
    {
        try
        {
            await previous;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The previous write's caller saw its failure; this write carries the newer state anyway.
        }

        // Captured in one turn: the model and the positions describe the same messages.
        var state = SensorGrainState.From(model.Save());
        state.FeedPositions = feedPositions.Count == 0 ? null : new Dictionary<string, SpoolPosition>(feedPositions, StringComparer.Ordinal);
        unsaved = false;
        persisted.State = state;
        try
        {
            await Storage.WriteStateAsync(StateName, this.GetGrainId(), persisted);
        }
        catch
        {
            unsaved = true;
            throw;
        }
    }
}
