using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Storage;
using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Domain.Sensors;
using Telemetry.Grains.Alerts;
using Telemetry.Grains.Persistence;
using Telemetry.Storage;
using Telemetry.Storage.Schema;

namespace Telemetry.Grains.Sensors;

/// <summary>
/// One activation per sensor, carrying out what its <see cref="SensorModel"/> decides: for every message it writes
/// the raw readings and the roll-up windows they closed, then applies them (alerts, room report). A timer runs the
/// offline check, writes <c>device_status</c> and flushes the roll-ups of a sensor that went quiet.
/// <para>
/// Reentrant: while one message waits for the spool, the next message of the same sensor is already taken, so a
/// device with several messages in flight is not serialised behind fsyncs. All state changes happen between awaits
/// on the activation's single thread; state writes are chained so two never overlap.
/// </para>
/// <para>
/// Persisted (registered sensors only): alert engine state and roll-up windows, on every alert step and every
/// <c>Campus:DeviceStatusInterval</c> when changed, and at deactivation. After a crash the roll-up window in progress
/// restarts from the last persisted state (docs/schema.md#roll-ups); alerts never lose a step already published.
/// </para>
/// </summary>
[Reentrant]
public sealed class SensorGrain(
    ITelemetryWriter writer,
    ICampusRegistrySource registry,
    IAlertNotifier notifier,
    IOptions<CampusOptions> options,
    TelemetryMetrics metrics,
    AlertEngineProblems problems,
    TimeProvider time,
    ILogger<SensorGrain> logger) : Grain, ISensorGrain
{
    const string StateName = "sensor";

    /// <summary>
    /// Read by hand rather than through <c>[PersistentState]</c>: only registered sensors have state, and an
    /// unregistered sensor (most of a load test's) should not pay a file lookup on every activation (measured with the
    /// <c>grains</c> benchmark).
    /// </summary>
    readonly GrainState<SensorGrainState> persisted = new(new SensorGrainState());
    SensorModel model = null!;
    IGrainTimer? timer;
    Task persistTail = Task.CompletedTask;

    /// <summary>Set when the model reports an engine problem: the index may hold alerts of this sensor it no longer knows.</summary>
    bool lostAlertsPending;

    string SensorId => this.GetPrimaryKeyString();

    IGrainStorage Storage => ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        SensorGrainState? saved = null;
        if (registry.Current.FindSensor(SensorId) is not null)
        {
            await Storage.ReadStateAsync(StateName, this.GetGrainId(), persisted);
            saved = persisted.State;
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
        model.Refresh(registry.Current, output);
        Follow(output);
        await ClearLostAlertsAsync();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        var output = new SensorOutput();
        model.Flush(output);
        try
        {
            if (output.Rollups.Count > 0)
            {
                await writer.WriteAsync(Lines(output), cancellationToken);
            }

            await PersistAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogWarning("Sensor {Sensor}: could not write its open roll-up windows or state at deactivation: {Error}", SensorId, ex.Message);
        }
    }

    public async Task Ingest(TelemetryMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);

        // The raw lines and the windows they close go to the spool in one durable write; only then do they count.
        var output = new SensorOutput();
        model.Accept(message, registry.Current, output);
        Follow(output);
        await writer.WriteAsync(Lines(output), CancellationToken.None);

        // The readings are durable: from here on nothing may fail the call, or the device would resend them for ever.
        try
        {
            model.Apply(message, output);
            Follow(output);
            LogMoves(output.Moves);

            await PublishAsync(output.Steps);
            await ClearLostAlertsAsync();
            await ReportAsync(force: false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogError("Sensor {Sensor}: its readings are stored, but delivering their alert steps or room report failed: {Error}",
                SensorId, ex.Message);
        }
    }

    /// <summary>Placeholder until the feeder: each message as <see cref="Ingest"/>, no replay check.</summary>
    public async Task IngestBatch(FeedBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var fed in batch.Messages)
        {
            await Ingest(fed.Message);
        }
    }

    public Task Checkpoint() => PersistAsync();

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

    public Task<SensorSnapshot?> GetSnapshot() => Task.FromResult(model.Snapshot);

    /// <summary>
    /// Called by the campus at start and after each registry reload: activation does the work for a new grain; a grain
    /// already active (e.g. as an unregistered sensor that the reload just registered) takes up its registration now.
    /// </summary>
    public async Task Start()
    {
        var output = new SensorOutput();
        model.Refresh(registry.Current, output);
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
    /// Persists the alert state, writes each step to InfluxDB, records it in the alert index, then hands it to MQTT and
    /// webhooks: a step is published only once it survives a restart.
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
            await writer.WriteAsync([.. steps.Select(SeriesLines.Alert)], CancellationToken.None);
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
            notifier.Notify(step);
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
            await writer.WriteAsync([SeriesLines.Device(s.At, s.Kind, s.Online, s.LastSeenAgeSeconds, s.MessagesTotal, s.ReadingsTotal, s.Battery, s.Rssi, s.AtMs)],
                CancellationToken.None);
        }
    }

    async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            var output = new SensorOutput();
            model.Tick(registry.Current, output);
            Follow(output);

            // The flushed windows first: the state persisted with the alert steps below counts them as written.
            if (output.Rollups.Count > 0)
            {
                await writer.WriteAsync(Lines(output), cancellationToken);
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

        // Taken before the await, so an overlapping call (the grain is reentrant) does not clear the same alerts again;
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

    static List<string> Lines(SensorOutput output)
    {
        var lines = new List<string>(output.Raw.Sum(r => r.Readings.Count) + output.Rollups.Count);
        foreach (var raw in output.Raw)
        {
            lines.AddRange(LineProtocol.ToLines(raw.Address, raw.Readings, raw.Unregistered));
        }

        foreach (var (where, kind, p) in output.Rollups)
        {
            lines.Add(SeriesLines.RollupWindow(where, kind, p.Metric, p.WindowStartMs, p.Min, p.Max, p.Mean, p.Count, p.Last));
        }

        return lines;
    }

    /// <summary>Writes the state after any write still in flight (the grain is reentrant; writes must not overlap).</summary>
    Task PersistAsync()
    {
        if (model.Registered is null)
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

        persisted.State = SensorGrainState.From(model.Save());
        await Storage.WriteStateAsync(StateName, this.GetGrainId(), persisted);
    }
}
