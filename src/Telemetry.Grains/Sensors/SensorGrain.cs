using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using Orleans.Storage;
using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Observability;
using Telemetry.Domain.Rollups;
using Telemetry.Grains.Alerts;
using Telemetry.Grains.Persistence;
using Telemetry.Storage;
using Telemetry.Storage.Schema;

namespace Telemetry.Grains.Sensors;

/// <summary>
/// One activation per sensor. For every message it writes the raw readings, closes and rewrites its 1-minute roll-up
/// windows, and — for a sensor the campus registry lists — evaluates its kind's alert rules and reports its figures
/// to its room. A timer runs the offline check, writes <c>device_status</c> and flushes the roll-ups of a sensor that
/// went quiet.
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
    TimeProvider time,
    ILogger<SensorGrain> logger) : Grain, ISensorGrain
{
    readonly Dictionary<string, (long TimestampMs, double Value)> lastValues = new(StringComparer.Ordinal);
    RollupWindows rollups = null!;
    SensorAlertEngine? engine;
    CampusRegistry? knownRegistry;
    RegisteredSensor? registered;
    SensorAddress? address;
    long lastReadingMs = long.MinValue;
    long lastSeenMs;
    long messagesTotal;
    long readingsTotal;
    long lastIngestWallMs;
    long lastStatusWrittenMs;
    bool? reportedOnline;
    bool dirty;
    IGrainTimer? timer;

    string SensorId => this.GetPrimaryKeyString();

    long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Read by hand rather than through <c>[PersistentState]</c>: only registered sensors have state, and an
    /// unregistered sensor (most of a load test's) should not pay a file lookup on every activation (measured with the
    /// <c>grains</c> benchmark).
    /// </summary>
    readonly GrainState<SensorGrainState> persisted = new(new SensorGrainState());

    IGrainStorage Storage => ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);

    const string StateName = "sensor";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var campus = options.Value;
        if (registry.Current.FindSensor(SensorId) is not null)
        {
            await Storage.ReadStateAsync(StateName, this.GetGrainId(), persisted);
            persisted.State ??= new SensorGrainState();
        }

        var saved = persisted.State ?? new SensorGrainState();
        rollups = saved.Rollups is { } r && r.WindowMs == (long)campus.RollupWindow.TotalMilliseconds
            ? new RollupWindows(r)
            : new RollupWindows(campus.RollupWindow, campus.RollupLateness);
        messagesTotal = saved.MessagesTotal;
        readingsTotal = saved.ReadingsTotal;
        lastSeenMs = saved.LastSeenMs;

        // Windows restored from the state a crash left behind are owed to InfluxDB: the idle flush counts from now.
        if (rollups.OpenWindowCount > 0)
        {
            lastIngestWallMs = Now;
        }

        RefreshRegistration(Now, []);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        var points = new List<RollupPoint>();
        rollups.Flush(points);
        try
        {
            if (points.Count > 0 && CanWriteRollups)
            {
                await writer.WriteAsync(RollupLines(points), cancellationToken);
            }

            if (registered is not null)
            {
                await PersistAsync();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogWarning("Sensor {Sensor}: could not write its open roll-up windows or state at deactivation: {Error}", SensorId, ex.Message);
        }
    }

    public async Task Ingest(TelemetryMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var transitions = new List<AlertTransition>();
        RefreshRegistration(message.ReceivedAtMs, transitions);

        // Roll-ups first, so the raw lines and the windows they close go to the spool in one durable write.
        // Readings resent after a lost acknowledgement carry the same timestamps and are not counted twice.
        var points = new List<RollupPoint>();
        foreach (var reading in message.Readings)
        {
            var added = rollups.Add(reading.TimestampMs, reading.Metrics, points);
            if (added.TooLate)
            {
                metrics.RollupTooLate.Add(1);
                logger.LogDebug("Sensor {Sensor}: reading at {Timestamp} is too late for its roll-up window; stored raw only", SensorId, reading.TimestampMs);
            }

            if (added.Duplicates > 0)
            {
                metrics.RollupDuplicates.Add(1);
            }
        }

        var lines = new List<string>(message.Readings.Count + points.Count);
        lines.AddRange(LineProtocol.ToLines(message.Address, message.Readings, unregistered: registered is null));
        if (points.Count > 0)
        {
            address ??= message.Address;
            lines.AddRange(RollupLines(points, message.Address));
        }

        await writer.WriteAsync(lines, CancellationToken.None);

        if (address is not null && address != message.Address)
        {
            logger.LogInformation("Sensor {Sensor} moved from {OldBuilding}/{OldRoom} to {Building}/{Room}",
                message.Address.Sensor, address.Building, address.Room, message.Address.Building, message.Address.Room);
        }

        address = message.Address;
        lastSeenMs = Math.Max(lastSeenMs, message.ReceivedAtMs);
        lastIngestWallMs = Now;
        messagesTotal++;
        readingsTotal += message.Readings.Count;
        dirty = true;

        // Readings may arrive out of order (batches uploaded after an outage): per metric, the newest timestamp wins.
        foreach (var reading in message.Readings)
        {
            lastReadingMs = Math.Max(lastReadingMs, reading.TimestampMs);
            foreach (var metric in reading.Metrics)
            {
                if (!lastValues.TryGetValue(metric.Name, out var known) || known.TimestampMs <= reading.TimestampMs)
                {
                    lastValues[metric.Name] = (reading.TimestampMs, metric.Value);
                }
            }
        }

        if (engine is not null)
        {
            foreach (var reading in message.Readings.OrderBy(r => r.TimestampMs))
            {
                transitions.AddRange(engine.OnReading(reading, message.ReceivedAtMs));
            }
        }

        if (transitions.Count > 0)
        {
            await PublishAsync(transitions);
        }

        if (registered is not null)
        {
            await ReportAsync(force: false);
        }
    }

    public Task<SensorSnapshot?> GetSnapshot() => Task.FromResult(address is null
        ? null
        : new SensorSnapshot(address, lastReadingMs, lastValues.ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal),
            lastSeenMs, messagesTotal, readingsTotal));

    /// <summary>
    /// Called by the campus at start and after each registry reload: activation does the work for a new grain; a grain
    /// already active (e.g. as an unregistered sensor that the reload just registered) takes up its registration now.
    /// </summary>
    public async Task Start()
    {
        var transitions = new List<AlertTransition>();
        RefreshRegistration(Now, transitions);
        if (transitions.Count > 0)
        {
            await PublishAsync(transitions);
        }
    }

    public Task Disconnected(long atMs)
    {
        engine?.OnDisconnected(atMs);
        return Task.CompletedTask;
    }

    public Task Connected(long atMs)
    {
        engine?.OnConnected(atMs);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<AlertInfo>> GetAlerts() =>
        Task.FromResult<IReadOnlyList<AlertInfo>>(engine is null ? [] : [.. engine.Active.Select(a => a.ToInfo(Building, Room))]);

    public Task<AlertCommandResult> Acknowledge(string alertId, string by, string? note) =>
        ActAsync(alertId, e => e.Acknowledge(alertId, by, note, Now));

    public Task<AlertCommandResult> ClearAlert(string alertId, string by) =>
        ActAsync(alertId, e => e.Clear(alertId, by, Now));

    async Task<AlertCommandResult> ActAsync(string alertId, Func<SensorAlertEngine, AlertActionResult> action)
    {
        if (engine is null)
        {
            return new AlertCommandResult(false, $"sensor '{SensorId}' has no alerts (it is not in the campus registry)", null);
        }

        var result = action(engine);
        if (result.Transition is { } transition)
        {
            await PublishAsync([transition]);
            return new AlertCommandResult(true, null, transition.Alert.ToInfo(Building, Room));
        }

        var known = engine.Active.FirstOrDefault(a => a.Id == alertId);
        return result.Error == AlertActionError.UnknownAlert && known is null
            ? new AlertCommandResult(false, result.ErrorMessage, null)
            : new AlertCommandResult(false, result.ErrorMessage, known is null
                ? new AlertInfo(alertId, "", "", SensorId, "", default, default, AlertState.Cleared, 0, null, "", null, null, null, null, null, false)
                : known.ToInfo(Building, Room));
    }

    /// <summary>
    /// Persists the alert state, writes each step to InfluxDB, records it in the alert index, then hands it to MQTT and
    /// webhooks: a step is published only once it survives a restart.
    /// </summary>
    async Task PublishAsync(IReadOnlyList<AlertTransition> transitions)
    {
        await PersistAsync();
        var steps = transitions.Select(t => t.ToStep(Building, Room)).ToList();
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

        if (transitions.Any(t => t.Alert.RuleType == AlertRuleType.Offline))
        {
            await ReportAsync(force: true);
        }
    }

    string Building => registered?.Building.Id ?? address?.Building ?? "";

    string Room => registered?.Room.Id ?? address?.Room ?? "";

    /// <summary>Online: reported since the service started and no offline alert is open.</summary>
    bool Online => lastSeenMs > 0 && engine is not null
        ? !engine.Active.Any(a => a.RuleType == AlertRuleType.Offline) && (HasOfflineRule || Now - lastSeenMs <= 2 * IntervalMs)
        : lastSeenMs > 0;

    bool HasOfflineRule => registered?.Kind.Alerts.Any(r => r is OfflineRule) == true;

    long IntervalMs => (long)(registered?.Kind.Interval.TotalMilliseconds ?? 60_000);

    /// <summary>Tells the room this sensor's figures (by the roll-up roles of its kind's metrics) and whether it is online.</summary>
    async Task ReportAsync(bool force)
    {
        if (registered is not { } sensor)
        {
            return;
        }

        double? people = null, temperature = null, humidity = null, co2 = null, power = null, energy = null;
        foreach (var (name, spec) in sensor.Kind.Metrics)
        {
            if (spec.Rollup == RollupRole.None || !lastValues.TryGetValue(name, out var last))
            {
                continue;
            }

            var value = last.Value;
            switch (spec.Rollup)
            {
                case RollupRole.People: people = value; break;
                case RollupRole.Temperature: temperature = value; break;
                case RollupRole.Humidity: humidity = value; break;
                case RollupRole.Co2: co2 = value; break;
                case RollupRole.Power: power = IsUnit(spec, "W") ? value / 1000 : value; break;
                case RollupRole.Energy: energy = IsUnit(spec, "Wh") ? value / 1000 : value; break;
            }
        }

        var online = Online;
        var changed = reportedOnline != online;
        if (!force && !changed && people is null && temperature is null && humidity is null && co2 is null && power is null && energy is null)
        {
            return;
        }

        reportedOnline = online;
        await GrainFactory.GetGrain<IRoomGrain>(CampusKeys.Room(sensor.Building.Id, sensor.Room.Id))
            .Report(new SensorReport(SensorId, online, lastSeenMs, people, temperature, humidity, co2, power, energy));
        if (changed)
        {
            await WriteStatusAsync();
        }
    }

    static bool IsUnit(MetricSpec spec, string unit) => string.Equals(spec.Unit, unit, StringComparison.Ordinal);

    async Task WriteStatusAsync()
    {
        if (registered is not { } sensor)
        {
            return;
        }

        var now = Now;
        lastStatusWrittenMs = now;
        var at = new SensorAddress(sensor.Building.Id, sensor.Room.Id, SensorId);
        double? Last(string metric) => lastValues.TryGetValue(metric, out var v) ? v.Value : null;
        var age = lastSeenMs > 0 ? (now - lastSeenMs) / 1000.0 : (now - ActivatedAtMs) / 1000.0;
        await writer.WriteAsync([SeriesLines.Device(at, sensor.Kind.Id, Online, Math.Max(0, age), messagesTotal, readingsTotal,
            Last("battery"), Last("rssi"), now)], CancellationToken.None);
    }

    long ActivatedAtMs { get; } = time.GetUtcNow().ToUnixTimeMilliseconds();

    async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            var now = Now;
            var transitions = new List<AlertTransition>();
            RefreshRegistration(now, transitions);
            if (engine is not null)
            {
                transitions.AddRange(engine.OnTick(now));
            }

            if (transitions.Count > 0)
            {
                await PublishAsync(transitions);
            }

            // A sensor that went quiet: its open roll-up windows are written now rather than when it reports again.
            if (lastIngestWallMs > 0 && now - lastIngestWallMs >= options.Value.RollupIdleFlush.TotalMilliseconds && rollups.OpenWindowCount > 0 && CanWriteRollups)
            {
                var points = new List<RollupPoint>();
                rollups.Flush(points);
                if (points.Count > 0)
                {
                    await writer.WriteAsync(RollupLines(points), cancellationToken);
                }
            }

            if (registered is not null)
            {
                await ReportAsync(force: false);
                if (now - lastStatusWrittenMs >= options.Value.DeviceStatusInterval.TotalMilliseconds)
                {
                    await WriteStatusAsync();
                    if (dirty)
                    {
                        await PersistAsync();
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
        {
            logger.LogWarning("Sensor {Sensor}: periodic check failed: {Error}", SensorId, ex.Message);
        }
    }

    /// <summary>
    /// Looks the sensor up again when the registry changed: a sensor that became registered gets its alert engine,
    /// a changed kind updates the rules (keeping the state of rules that stayed), a removed sensor clears its alerts.
    /// </summary>
    void RefreshRegistration(long nowMs, List<AlertTransition> transitions)
    {
        var current = registry.Current;
        if (ReferenceEquals(current, knownRegistry))
        {
            return;
        }

        knownRegistry = current;
        var previous = registered;
        registered = current.FindSensor(SensorId);
        if (registered is { } sensor)
        {
            var engineOptions = new AlertEngineOptions
            {
                FlapThreshold = options.Value.AlertFlapThreshold,
                FlapWindow = options.Value.AlertFlapWindow,
            };
            if (engine is null)
            {
                var restored = persisted.State?.Alerts;
                try
                {
                    engine = new SensorAlertEngine(SensorId, sensor.Kind.Alerts, restored, engineOptions, nowMs, sensor.Kind.Metrics);
                }
                catch (ArgumentException ex) when (restored is not null)
                {
                    logger.LogWarning("Sensor {Sensor}: its saved alert state does not fit its rules any more ({Error}); starting fresh", SensorId, ex.Message);
                    engine = new SensorAlertEngine(SensorId, sensor.Kind.Alerts, null, engineOptions, nowMs, sensor.Kind.Metrics);
                }

                if (restored is not null)
                {
                    // The time the service itself was down is not the device's silence.
                    engine.ResetOfflineClock(nowMs);
                }
            }
            else if (previous is null || !ReferenceEquals(previous.Kind, sensor.Kind))
            {
                transitions.AddRange(engine.UpdateRules(sensor.Kind.Alerts, nowMs, sensor.Kind.Metrics));
            }
        }
        else if (engine is not null)
        {
            transitions.AddRange(engine.UpdateRules(AlertRuleSet.Create(TimeSpan.FromMinutes(1)), nowMs));
            engine = null;
        }

        ArmTimer();
    }

    void ArmTimer()
    {
        timer?.Dispose();
        timer = null;
        if (registered is not { } sensor)
        {
            // Unregistered sensors get no timer (a load test activates hundreds of thousands of them): their quiet
            // windows are written when a later reading arrives or when Orleans deactivates the idle grain.
            return;
        }

        // A quarter of the shortest time the offline rules wait (the interval, or a disconnect grace) keeps detection
        // within that time plus a quarter. Registered sensors stay active: their offline clock must run even when
        // they are silent.
        var period = TimeSpan.FromMilliseconds(Math.Clamp(
            sensor.Kind.Alerts.OfType<OfflineRule>().Where(r => r.Grace is not null)
                .Select(r => r.Grace!.Value.TotalMilliseconds)
                .Append(sensor.Kind.Interval.TotalMilliseconds)
                .Min() / 4, 250, 15_000));
        timer = this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(period, period) { KeepAlive = true });
    }

    /// <summary>
    /// A registered sensor's windows are addressed by the registry; an unregistered one's only by a message it sent
    /// since activation (its restored windows wait for that message).
    /// </summary>
    bool CanWriteRollups => registered is not null || address is not null;

    IReadOnlyList<string> RollupLines(IReadOnlyList<RollupPoint> points, SensorAddress? at = null)
    {
        var where = registered is { } sensor
            ? new SensorAddress(sensor.Building.Id, sensor.Room.Id, SensorId)
            : at ?? address!;
        var kind = registered?.Kind.Id ?? "unregistered";
        return [.. points.Select(p => SeriesLines.RollupWindow(where, kind, p.Metric, p.WindowStartMs, p.Min, p.Max, p.Mean, p.Count, p.Last))];
    }

    Task persistTail = Task.CompletedTask;

    /// <summary>Writes the state after any write still in flight (the grain is reentrant; writes must not overlap).</summary>
    Task PersistAsync()
    {
        if (registered is null)
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

        {
            persisted.State = new SensorGrainState
            {
                Alerts = engine?.State,
                Rollups = rollups.ToState(),
                LastSeenMs = lastSeenMs,
                MessagesTotal = messagesTotal,
                ReadingsTotal = readingsTotal,
            };
            dirty = false;
            await Storage.WriteStateAsync(StateName, this.GetGrainId(), persisted);
        }
    }
}

/// <summary>What a registered sensor's grain keeps across restarts.</summary>
public sealed class SensorGrainState
{
    public AlertEngineState? Alerts { get; set; }

    public RollupState? Rollups { get; set; }

    public long LastSeenMs { get; set; }

    public long MessagesTotal { get; set; }

    public long ReadingsTotal { get; set; }
}
