using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Rollups;

namespace Telemetry.Domain.Sensors;

/// <summary>
/// Everything one sensor knows and decides, without I/O: its roll-up windows, last values and counters, its alert
/// engine, its room report and device status. A host (the sensor grain) hands it messages, registry versions and
/// clock ticks, and carries out the <see cref="SensorOutput"/> it fills: store, publish, report, persist.
/// <para>
/// A message is taken in two steps so nothing is concluded from readings that were not stored: <see cref="Accept"/>
/// (roll-ups, what to store) before the durable write, <see cref="Apply"/> (last values, counters, alerts) after it.
/// A batch is accepted message by message into one output, written once, then applied in the same order.
/// Deterministic given its inputs and the injected clock (read for wall-clock times only). Not thread-safe.
/// </para>
/// <para>
/// Alert configuration never stops the data: if the alert engine cannot be built or updated, the sensor carries on
/// afresh without its saved state, or without alerts, and says so in <see cref="EngineProblem"/>.
/// </para>
/// </summary>
public sealed class SensorModel
{
    const string UnregisteredKind = "unregistered";

    readonly string sensorId;
    readonly SensorSettings settings;
    readonly TimeProvider time;
    readonly Dictionary<string, (long TimestampMs, double Value)> lastValues = new(StringComparer.Ordinal);
    readonly RollupWindows rollups;
    readonly long activatedAtMs;
    AlertEngineState? savedAlerts;
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

    /// <summary>Restores a sensor from <paramref name="saved"/> (null: a fresh start).</summary>
    /// <param name="rollupRestoreError">Set when the saved roll-up windows did not restore (they start empty).</param>
    public SensorModel(string sensorId, SensorState? saved, SensorSettings settings, TimeProvider time, out string? rollupRestoreError)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sensorId);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        this.sensorId = sensorId;
        this.settings = settings;
        this.time = time;
        activatedAtMs = Now;
        rollups = RestoreRollups(saved?.Rollups, settings, out rollupRestoreError);

        savedAlerts = saved?.Alerts;
        messagesTotal = saved?.MessagesTotal ?? 0;
        readingsTotal = saved?.ReadingsTotal ?? 0;
        lastSeenMs = saved?.LastSeenMs ?? 0;

        // Windows restored from the state a crash left behind are owed to InfluxDB: the idle flush counts from now.
        if (rollups.OpenWindowCount > 0)
        {
            lastIngestWallMs = Now;
        }
    }

    public string SensorId => sensorId;

    /// <summary>The saved windows when they fit the configured window and restore; otherwise empty ones.</summary>
    static RollupWindows RestoreRollups(RollupState? saved, SensorSettings settings, out string? error)
    {
        error = null;
        if (saved is not null && saved.WindowMs == (long)settings.RollupWindow.TotalMilliseconds)
        {
            try
            {
                return new RollupWindows(saved);
            }
            catch (ArgumentException ex)
            {
                error = ex.Message;
            }
        }

        return new RollupWindows(settings.RollupWindow, settings.RollupLateness);
    }

    /// <summary>The sensor as the registry lists it, or null for an unregistered sensor.</summary>
    public RegisteredSensor? Registered => registered;

    /// <summary>Why the alerts do not fully run, or null when they do (or the sensor has none).</summary>
    public AlertEngineProblem? EngineProblem { get; private set; }

    /// <summary>Changed since the last <see cref="Save"/>.</summary>
    public bool IsDirty { get; private set; }

    /// <summary>
    /// How often a registered sensor wants <see cref="Tick"/>: a quarter of the shortest time its offline rules wait
    /// (the interval, or a disconnect grace), so detection stays within that time plus a quarter. Null for an
    /// unregistered sensor (a load test activates hundreds of thousands: their quiet windows are written when a later
    /// reading arrives or at deactivation).
    /// </summary>
    public TimeSpan? TickPeriod => registered is { } sensor
        ? TimeSpan.FromMilliseconds(Math.Clamp(
            sensor.Kind.Alerts.OfType<OfflineRule>().Where(r => r.Grace is not null)
                .Select(r => r.Grace!.Value.TotalMilliseconds)
                .Append(sensor.Kind.Interval.TotalMilliseconds)
                .Min() / 4, 250, 15_000))
        : null;

    /// <summary>Open alerts as the API shows them.</summary>
    public IReadOnlyList<AlertInfo> Alerts => engine is null ? [] : [.. engine.Active.Select(a => a.ToInfo(Building, Room))];

    /// <summary>The last reading and counters, or null before the first message since activation.</summary>
    public SensorSnapshot? Snapshot => address is null
        ? null
        : new SensorSnapshot(address, lastReadingMs, lastValues.ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal),
            lastSeenMs, messagesTotal, readingsTotal);

    /// <summary>
    /// The state to persist; the model counts as saved from here. Saved alert state that no registration has taken up
    /// yet (the sensor has been unregistered in every registry applied since activation) is kept as it was rather than
    /// dropped: a registry that does not list the sensor on this node — in a cluster, perhaps one not yet rolled out
    /// everywhere — must not erase alerts that another registry still runs (docs/operations.md, "Changing the registry
    /// in a cluster"). A removal applied while the engine runs still clears them, as steps.
    /// </summary>
    public SensorState Save()
    {
        IsDirty = false;
        return new SensorState(engine?.State ?? savedAlerts, rollups.ToState(), lastSeenMs, messagesTotal, readingsTotal);
    }

    /// <summary>The registry this model last took up (null before the first).</summary>
    public CampusRegistry? AppliedRegistry => knownRegistry;

    /// <summary>
    /// The registry to hand this model: <paramref name="nodeRegistry"/>, except while <paramref name="holdChanges"/>
    /// (this node's registry disagrees with the cluster's) and a registry was already applied — then that one, so a
    /// registration change (a removed sensor or rule, which would close and drop its alert state) waits until the
    /// nodes agree. A model that has applied none takes the node's registry: there is no other to keep.
    /// </summary>
    public CampusRegistry RegistryToApply(CampusRegistry nodeRegistry, bool holdChanges) =>
        holdChanges && knownRegistry is { } applied ? applied : nodeRegistry;

    /// <summary>
    /// Takes up <paramref name="registry"/> if it is not the one known: a sensor that became registered gets its alert
    /// engine, a changed kind updates the rules (keeping the state of rules that stayed), a removed sensor clears its alerts.
    /// </summary>
    public void Refresh(CampusRegistry registry, SensorOutput output) => Refresh(registry, Now, output);

    /// <summary>
    /// Step one of a message, before its durable write: aggregates the readings into their roll-up windows and adds
    /// the readings and the windows they closed to <paramref name="output"/>. Resent readings (same timestamps) are not
    /// counted twice.
    /// </summary>
    public void Accept(TelemetryMessage message, CampusRegistry registry, SensorOutput output)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(output);
        Refresh(registry, message.ReceivedAtMs, output);
        var points = new List<RollupPoint>();
        foreach (var reading in message.Readings)
        {
            var added = rollups.Add(reading.TimestampMs, reading.Metrics, points);
            output.TooLateReadings += added.TooLate ? 1 : 0;
            output.DuplicateReadings += added.Duplicates > 0 ? 1 : 0;
        }

        output.Raw.Add(new SensorReadings(message.Address, message.Readings, Unregistered: registered is null));
        if (points.Count > 0)
        {
            address ??= message.Address;
            AddRollups(points, message.Address, output);
        }
    }

    /// <summary>
    /// Step two of a message, once its readings are durable: last values (per metric, the newest timestamp wins, as
    /// batches uploaded after an outage arrive out of order), counters, and the alert rules in reading order.
    /// </summary>
    public void Apply(TelemetryMessage message, SensorOutput output)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(output);
        if (address is not null && address != message.Address)
        {
            output.Moves.Add(new SensorMove(address, message.Address));
        }

        address = message.Address;
        lastSeenMs = Math.Max(lastSeenMs, message.ReceivedAtMs);
        lastIngestWallMs = Now;
        messagesTotal++;
        readingsTotal += message.Readings.Count;
        IsDirty = true;
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
                Evaluate(e => e.OnReading(reading, message.ReceivedAtMs), output);
            }
        }
    }

    /// <summary>
    /// The periodic check: registry changes, offline detection, and the open windows of a sensor that went quiet for
    /// <see cref="SensorSettings.RollupIdleFlush"/> (written now rather than when it reports again).
    /// </summary>
    public void Tick(CampusRegistry registry, SensorOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var now = Now;
        Refresh(registry, now, output);
        Evaluate(e => e.OnTick(now), output);
        if (lastIngestWallMs > 0 && now - lastIngestWallMs >= settings.RollupIdleFlush.TotalMilliseconds && rollups.OpenWindowCount > 0)
        {
            Flush(output);
        }
    }

    /// <summary>Every open window not written since it changed (the sensor went quiet, or its host deactivates).</summary>
    public void Flush(SensorOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);

        // A registered sensor's windows are addressed by the registry; an unregistered one's only by a message it
        // sent since activation (its restored windows wait for that message).
        if (registered is null && address is null)
        {
            return;
        }

        var points = new List<RollupPoint>();
        rollups.Flush(points);
        AddRollups(points, address, output);
    }

    /// <summary>Whether the device status is due (every <see cref="SensorSettings.DeviceStatusInterval"/>).</summary>
    public bool StatusDue => registered is not null && Now - lastStatusWrittenMs >= settings.DeviceStatusInterval.TotalMilliseconds;

    public void Disconnected(long atMs) => engine?.OnDisconnected(atMs);

    public void Connected(long atMs) => engine?.OnConnected(atMs);

    public AlertCommandResult Acknowledge(string alertId, string by, string? note, SensorOutput output) =>
        Act(alertId, e => e.Acknowledge(alertId, by, note, Now), output);

    public AlertCommandResult Clear(string alertId, string by, SensorOutput output) =>
        Act(alertId, e => e.Clear(alertId, by, Now), output);

    /// <summary>
    /// The sensor's figures for its room, by the roll-up roles of its kind's metrics (W→kW, Wh→kWh), and whether it
    /// is online; null when unregistered, or when there is nothing to tell and <paramref name="force"/> is false.
    /// </summary>
    public RoomReport? Report(bool force)
    {
        if (registered is not { } sensor)
        {
            return null;
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
                case RollupRole.Power: power = spec.InRollupUnit(value); break;
                case RollupRole.Energy: energy = spec.InRollupUnit(value); break;
            }
        }

        var online = Online;
        var changed = reportedOnline != online;
        if (!force && !changed && people is null && temperature is null && humidity is null && co2 is null && power is null && energy is null)
        {
            return null;
        }

        reportedOnline = online;
        return new RoomReport(sensor.Building.Id, sensor.Room.Id,
            new SensorReport(sensorId, online, lastSeenMs, people, temperature, humidity, co2, power, energy), changed);
    }

    /// <summary>The device status as of now (registered sensors only); counts as written.</summary>
    public DeviceStatus? Status()
    {
        if (registered is not { } sensor)
        {
            return null;
        }

        var now = Now;
        lastStatusWrittenMs = now;
        double? Last(string metric) => lastValues.TryGetValue(metric, out var v) ? v.Value : null;
        var age = lastSeenMs > 0 ? (now - lastSeenMs) / 1000.0 : (now - activatedAtMs) / 1000.0;
        return new DeviceStatus(new SensorAddress(sensor.Building.Id, sensor.Room.Id, sensorId), sensor.Kind.Id, Online,
            Math.Max(0, age), messagesTotal, readingsTotal, Last("battery"), Last("rssi"), now);
    }

    long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    string Building => registered?.Building.Id ?? address?.Building ?? "";

    string Room => registered?.Room.Id ?? address?.Room ?? "";

    /// <summary>Online: reported since the service started and no offline alert is open.</summary>
    bool Online => lastSeenMs > 0 && engine is not null
        ? !engine.Active.Any(a => a.RuleType == AlertRuleType.Offline) && (HasOfflineRule || Now - lastSeenMs <= 2 * IntervalMs)
        : lastSeenMs > 0;

    bool HasOfflineRule => registered?.Kind.Alerts.Any(r => r is OfflineRule) == true;

    long IntervalMs => (long)(registered?.Kind.Interval.TotalMilliseconds ?? 60_000);

    void AddRollups(List<RollupPoint> points, SensorAddress? at, SensorOutput output)
    {
        var where = registered is { } sensor ? new SensorAddress(sensor.Building.Id, sensor.Room.Id, sensorId) : at ?? address!;
        var kind = registered?.Kind.Id ?? UnregisteredKind;
        foreach (var point in points)
        {
            output.Rollups.Add(new SensorRollup(where, kind, point));
        }
    }

    AlertCommandResult Act(string alertId, Func<SensorAlertEngine, AlertActionResult> action, SensorOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (engine is null)
        {
            return new AlertCommandResult(false, registered is null
                ? $"sensor '{sensorId}' has no alerts (it is not in the campus registry)"
                : $"sensor '{sensorId}' runs without alerts ({EngineProblem?.ToString() ?? "no alert engine"})", null);
        }

        var result = action(engine);
        if (result.Transition is { } transition)
        {
            output.Steps.Add(transition.ToStep(Building, Room));
            return new AlertCommandResult(true, null, transition.Alert.ToInfo(Building, Room));
        }

        var known = engine.Active.FirstOrDefault(a => a.Id == alertId);
        return result.Error == AlertActionError.UnknownAlert && known is null
            ? new AlertCommandResult(false, result.ErrorMessage, null)
            : new AlertCommandResult(false, result.ErrorMessage, known is null
                ? new AlertInfo(alertId, "", "", sensorId, "", default, default, AlertState.Cleared, 0, null, "", null, null, null, null, null, false)
                : known.ToInfo(Building, Room));
    }

    void Refresh(CampusRegistry registry, long nowMs, SensorOutput output)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (ReferenceEquals(registry, knownRegistry))
        {
            return;
        }

        knownRegistry = registry;
        var previous = registered;
        registered = registry.FindSensor(sensorId);
        output.RegistrationChanged = true;
        if (registered is { } sensor)
        {
            if (engine is null)
            {
                // The saved state is used once: after a removal from the registry cleared the alerts, a later
                // registration starts afresh.
                var restored = savedAlerts;
                savedAlerts = null;
                engine = BuildEngine(sensor, restored, serviceWasDown: true, nowMs, output);
            }
            else if (previous is null || !ReferenceEquals(previous.Kind, sensor.Kind))
            {
                Evaluate(e => e.UpdateRules(sensor.Kind.Alerts, nowMs, sensor.Kind.Metrics), output, rebuildFor: sensor, nowMs);
            }
        }
        else
        {
            if (engine is not null)
            {
                Evaluate(e => e.UpdateRules(AlertRuleSet.Create(TimeSpan.FromMinutes(1)), nowMs), output);
                engine = null;
            }

            // Out of the registry, the sensor has no alerts to run: no problem either (also after an engine fault).
            SetProblem(null, output);
        }
    }

    /// <summary>
    /// Runs the engine; if it throws, the sensor carries on: a failed rule update rebuilds the engine from its state
    /// (<paramref name="rebuildFor"/>), a failed evaluation leaves the sensor without alerts. Either way it is reported.
    /// </summary>
    void Evaluate(Func<SensorAlertEngine, IReadOnlyList<AlertTransition>> step, SensorOutput output, RegisteredSensor? rebuildFor = null, long nowMs = 0)
    {
        if (engine is not { } current)
        {
            return;
        }

        try
        {
            AddSteps(step(current), output);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            if (rebuildFor is not null)
            {
                engine = BuildEngine(rebuildFor, current.State, serviceWasDown: false, nowMs, output);
            }
            else
            {
                engine = null;
                SetProblem(new AlertEngineProblem(sensorId, AlertEngineFault.Engine, ex.Message), output);
            }
        }
    }

    void AddSteps(IReadOnlyList<AlertTransition> transitions, SensorOutput output)
    {
        foreach (var transition in transitions)
        {
            output.Steps.Add(transition.ToStep(Building, Room));
        }
    }

    /// <summary>
    /// The one place an alert engine is built: with the saved state if it restores, else afresh, else none. The rules
    /// themselves were checked by the registry loader (<see cref="AlertRuleSet"/>); what still falls short is reported
    /// in <see cref="EngineProblem"/>.
    /// </summary>
    SensorAlertEngine? BuildEngine(RegisteredSensor sensor, AlertEngineState? restored, bool serviceWasDown, long nowMs, SensorOutput output)
    {
        var kind = sensor.Kind;
        AlertEngineProblem? problem = null;
        if (restored is not null)
        {
            try
            {
                var continued = new SensorAlertEngine(sensorId, kind.Alerts, restored, settings.AlertOptions, nowMs, kind.Metrics);
                if (serviceWasDown)
                {
                    // The time the service itself was down is not the device's silence.
                    continued.ResetOfflineClock(nowMs);
                }

                SetProblem(null, output);
                return continued;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                problem = new AlertEngineProblem(sensorId, AlertEngineFault.SavedState, ex.Message);
            }
        }

        try
        {
            var fresh = new SensorAlertEngine(sensorId, kind.Alerts, null, settings.AlertOptions, nowMs, kind.Metrics);
            SetProblem(problem, output);
            return fresh;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            SetProblem(new AlertEngineProblem(sensorId, AlertEngineFault.Engine, ex.Message), output);
            return null;
        }
    }

    /// <summary>Records the engine's problem; the same problem found again (e.g. at a reload) is no news.</summary>
    void SetProblem(AlertEngineProblem? problem, SensorOutput output)
    {
        if (problem != EngineProblem)
        {
            EngineProblem = problem;
            output.EngineProblemChanged = true;
        }
    }
}
