using System.Diagnostics.Metrics;

namespace Telemetry.Domain.Observability;

/// <summary>
/// Every counter the service keeps, on one <see cref="Meter"/> named <see cref="MeterName"/>; exported for
/// Prometheus at <c>/metrics</c>. Created through <see cref="IMeterFactory"/>, one per host.
/// </summary>
public sealed class TelemetryMetrics : IDisposable
{
    public const string MeterName = "Telemetry";

    readonly Meter meter;

    public TelemetryMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        meter = meterFactory.Create(MeterName);
        MessagesRefused = meter.CreateCounter<long>("telemetry.mqtt.messages.refused", "{message}",
            "Device messages refused, by reason");
        MessagesFailed = meter.CreateCounter<long>("telemetry.mqtt.messages.failed", "{message}",
            "Device messages that could not be made durable (spool full too long, disk error, stopping); not acknowledged, by reason");
        ConnectionsRefused = meter.CreateCounter<long>("telemetry.mqtt.connections.refused", "{connection}",
            "MQTT connections refused, by reason");
        SubscriptionsRefused = meter.CreateCounter<long>("telemetry.mqtt.subscriptions.refused", "{subscription}",
            "MQTT subscriptions (topic filters) refused, by reason");
        CredentialReloadFailures = meter.CreateCounter<long>("telemetry.broker.credentials.reload_failures", "{reload}",
            "Edits of the credential store that could not be read; the previous store stays in force");
        ConnectionSignalsDropped = meter.CreateCounter<long>("telemetry.broker.connection_signals.dropped", "{signal}",
            "Connect, disconnect and offline-status signals not delivered to a sensor's grain (only silence then tells it is offline), by reason");
        LinesWritten = meter.CreateCounter<long>("telemetry.influx.lines.written", "{line}",
            "Line-protocol lines InfluxDB acknowledged");
        BatchesWritten = meter.CreateCounter<long>("telemetry.influx.batches.written", "{batch}",
            "Batches InfluxDB acknowledged");
        WriteRetries = meter.CreateCounter<long>("telemetry.influx.write.retries", "{attempt}",
            "Batch write attempts that failed and were retried, by reason");
        LinesDeadLettered = meter.CreateCounter<long>("telemetry.influx.lines.deadlettered", "{line}",
            "Lines InfluxDB rejected (400/413/422) that were moved to the dead-letter file, by reason");
        SpoolAppends = meter.CreateCounter<long>("telemetry.spool.appends", "{message}",
            "Messages appended to the spool (durable)");
        SpoolFullWaits = meter.CreateCounter<long>("telemetry.spool.full.waits", "{message}",
            "Messages that had to wait because the spool was full");
        SpoolFsyncDuration = meter.CreateHistogram<double>("telemetry.spool.fsync.duration", "s",
            "Time to write and fsync one group of appends");
        RollupTooLate = meter.CreateCounter<long>("telemetry.rollup.readings.too_late", "{reading}",
            "Readings older than their roll-up window's allowed lateness: stored raw, not rolled up");
        RollupDuplicates = meter.CreateCounter<long>("telemetry.rollup.readings.duplicate", "{reading}",
            "Readings whose timestamp their roll-up window already held (a resend): not counted twice");
        AlertSteps = meter.CreateCounter<long>("telemetry.alerts.steps", "{step}",
            "Alert lifecycle steps (raised, acknowledged, cleared), by event and severity");
        AlertEngineFailures = meter.CreateCounter<long>("telemetry.alerts.engine.failures", "{failure}",
            "Sensor alert engines that could not be built or updated as configured, by fault (saved-state, engine); the sensor's readings are stored regardless");
        FeedBatches = meter.CreateCounter<long>("telemetry.grains.feed.batches", "{batch}",
            "Batches of spool records the grain feeder handed to the sensor grains");
        FeedMessages = meter.CreateCounter<long>("telemetry.grains.feed.messages", "{message}",
            "Messages (raw spool records) the grain feeder handed to the sensor grains");
        FeedCalls = meter.CreateCounter<long>("telemetry.grains.feed.calls", "{call}",
            "Sensor grain calls (one per sensor of a batch) made by the grain feeder, retries included");
        FeedCallRetries = meter.CreateCounter<long>("telemetry.grains.feed.call.retries", "{call}",
            "Sensor grain calls of the grain feeder that failed and were retried, by reason");
        FeedBatchSize = meter.CreateHistogram<long>("telemetry.grains.feed.batch.size", "{message}",
            "Messages per batch the grain feeder handed to the sensor grains");
        FeedRecordsSkipped = meter.CreateCounter<long>("telemetry.grains.feed.records.skipped", "{record}",
            "Raw spool records the grain feeder could not read back into a message (their lines still go to InfluxDB), by reason");
        FeedMessagesGivenUp = meter.CreateCounter<long>("telemetry.grains.feed.messages.given_up", "{message}",
            "Messages a sensor grain still refused after Grains:FeedMaxAttempts attempts (their raw lines still go to InfluxDB; the roll-ups and alerts miss them), by reason");
        FeedMessagesReplayed = meter.CreateCounter<long>("telemetry.grains.feed.messages.replayed", "{message}",
            "Messages a sensor grain skipped because its saved position already covered them (a replay after a restart or a retried call)");
        FeedGaps = meter.CreateCounter<long>("telemetry.grains.feed.gaps", "{batch}",
            "Batches a sensor grain set aside because it no longer held messages fed to it before (its node died before it saved them); the grain feeder rewinds and feeds them again");
        FeedRewinds = meter.CreateCounter<long>("telemetry.grains.feed.rewinds", "{rewind}",
            "Times the grain feeder moved its read position back to its consumed position and fed again, by reason (grain_behind: a sensor grain's saved state did not hold what was fed to it)");
        CampusStarts = meter.CreateCounter<long>("telemetry.campus.starts", "{start}",
            "Times the campus grain started every registered sensor, by reason (activation, registry, membership)");
        FeedCheckpoints = meter.CreateCounter<long>("telemetry.grains.feed.checkpoints", "{round}",
            "Checkpoint rounds of the grain feeder (sensor grains save their state, then the feed's consumed position moves), by result (done, failed)");
        FeedCheckpointDuration = meter.CreateHistogram<double>("telemetry.grains.feed.checkpoint.duration", "s",
            "Time of one checkpoint round of the grain feeder");
        AlertNotifications = meter.CreateCounter<long>("telemetry.alerts.notifications", "{notification}",
            "Alert notifications of the outboxes, by destination and outcome (delivered; retried: an attempt failed and is tried again; suppressed: a quiet window; given_up: MaxAge or MaxAttempts reached; expired: recorded longer than MaxAge before the outbox read it; resynced: an active alert's current state sent in place of steps no longer in the index's log)");
        AlertOutboxProblems = meter.CreateCounter<long>("telemetry.alerts.outbox.problems", "{problem}",
            "Alert outbox problems, by reason (wake_failed: the index could not wake an outbox; read_failed; persist_failed; refresh_failed; quiet_windows_unavailable; unknown_destination; log_truncated, index_behind: steps no longer in the index's log)");
        meter.CreateObservableGauge("telemetry.alerts.outbox.pending", ObservePending, "{notification}",
            "Notifications waiting in each alert outbox active on this node, by destination");
        AlertFanoutPushFailures = meter.CreateCounter<long>("telemetry.alerts.fanout.push.failures", "{call}",
            "Calls of the alert index to a node's alert notifier that failed, by reason (timeout, error); the node catches up when it renews");
        AlertFanoutCatchUpSteps = meter.CreateCounter<long>("telemetry.alerts.fanout.catchup.steps", "{step}",
            "Alert steps this node published from the alert index's log (catch-up) rather than from a push");
        AlertFanoutGaps = meter.CreateCounter<long>("telemetry.alerts.fanout.gaps", "{gap}",
            "Alert steps or whole stretches this node could not publish over MQTT one by one, by reason (log_truncated, index_behind: the active alerts were republished instead; publish_failed)");
        ApiRequestsRefused = meter.CreateCounter<long>("telemetry.api.requests.refused", "{request}",
            "HTTP API requests refused: 401 (no_credentials, invalid_api_key, invalid_token, console_session_ended, console_header_missing), 403 (forbidden) or 400 (console_header_missing on the console sign-in), by reason");
        WritePathErrors = meter.CreateCounter<long>("telemetry.write_path.errors", "{error}",
            "Resource errors in the write path (spool append, read, checkpoint, segment release, dead letters), by stage and reason; each is retried");
        WriteDuration = meter.CreateHistogram<double>("telemetry.influx.write.duration", "s",
            "Time to write one batch to InfluxDB, retries included");
        ReportDaysComputed = meter.CreateCounter<long>("telemetry.reports.days.computed", "{day}",
            "Local days whose hourly and daily report points were computed and written");
        ReportFailures = meter.CreateCounter<long>("telemetry.reports.failures", "{failure}",
            "Report days that could not be computed or written (the day stays dirty and is tried again), and mark hand-overs that failed (kept and sent again), by reason (query, compute, write, calendar, state, mark_forward)");
        ReportMarks = meter.CreateCounter<long>("telemetry.reports.marks", "{mark}",
            "Hours of late readings written to InfluxDB that the report grain received (each marks its local days dirty)");
        ReportMarksTooLate = meter.CreateCounter<long>("telemetry.reports.marks.too_late", "{mark}",
            "Marks for hours older than Reports:Lateness: not applied");
        ReportComputeDuration = meter.CreateHistogram<double>("telemetry.reports.compute.duration", "s",
            "Time to compute and write one local day's report points (every building and the campus)");
        AlertEscalationNotifications = meter.CreateCounter<long>("telemetry.alerts.escalation.notifications", "{notification}",
            "Re-notifications and escalations of unacknowledged alerts handed to the destinations' outboxes, by kind (renotified, escalated)");
        AlertEscalationProblems = meter.CreateCounter<long>("telemetry.alerts.escalation.problems", "{problem}",
            "Escalation rounds that could not do everything (retried at the next round), and stretches of alert steps the escalation did not read one by one (it took the active set instead), by reason (index_failed, enqueue_failed, state_failed, wake_failed, log_truncated, index_behind)");
        meter.CreateObservableGauge("telemetry.reports.dirty_days", () => Interlocked.Read(ref reportDirtyDays), "{day}",
            "Local days waiting to be (re)computed by the report grain on this node (0 where it does not run)");
    }

    long reportDirtyDays;
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> outboxPending = new(StringComparer.Ordinal);

    /// <summary>Sets <c>telemetry_alerts_outbox_pending{destination}</c> (the outbox grain of that destination, after each change).</summary>
    public void SetOutboxPending(string destination, long pending) => outboxPending[destination] = pending;

    IEnumerable<Measurement<long>> ObservePending() =>
        outboxPending.Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>("destination", p.Key)));

    /// <summary>Sets the value of <c>telemetry_reports_dirty_days</c> (the report grain, after each change).</summary>
    public void SetReportDirtyDays(long days) => Interlocked.Exchange(ref reportDirtyDays, days);

    public Counter<long> MessagesRefused { get; }
    public Counter<long> MessagesFailed { get; }
    public Counter<long> ConnectionsRefused { get; }
    public Counter<long> SubscriptionsRefused { get; }
    public Counter<long> CredentialReloadFailures { get; }
    public Counter<long> ConnectionSignalsDropped { get; }
    public Counter<long> LinesWritten { get; }
    public Counter<long> BatchesWritten { get; }
    public Counter<long> WriteRetries { get; }
    public Counter<long> LinesDeadLettered { get; }
    public Counter<long> SpoolAppends { get; }
    public Counter<long> SpoolFullWaits { get; }
    public Histogram<double> SpoolFsyncDuration { get; }
    public Histogram<double> WriteDuration { get; }
    public Counter<long> RollupTooLate { get; }
    public Counter<long> RollupDuplicates { get; }
    public Counter<long> AlertSteps { get; }
    public Counter<long> AlertEngineFailures { get; }
    public Counter<long> FeedBatches { get; }
    public Counter<long> FeedMessages { get; }
    public Counter<long> FeedCalls { get; }
    public Counter<long> FeedCallRetries { get; }
    public Histogram<long> FeedBatchSize { get; }
    public Counter<long> FeedRecordsSkipped { get; }
    public Counter<long> FeedMessagesGivenUp { get; }
    public Counter<long> FeedMessagesReplayed { get; }
    public Counter<long> FeedGaps { get; }
    public Counter<long> FeedRewinds { get; }
    public Counter<long> CampusStarts { get; }
    public Counter<long> FeedCheckpoints { get; }
    public Histogram<double> FeedCheckpointDuration { get; }
    public Counter<long> AlertNotifications { get; }
    public Counter<long> AlertOutboxProblems { get; }
    public Counter<long> AlertFanoutPushFailures { get; }
    public Counter<long> AlertFanoutCatchUpSteps { get; }
    public Counter<long> AlertFanoutGaps { get; }
    public Counter<long> ApiRequestsRefused { get; }
    public Counter<long> WritePathErrors { get; }
    public Counter<long> ReportDaysComputed { get; }
    public Counter<long> ReportFailures { get; }
    public Counter<long> ReportMarks { get; }
    public Counter<long> ReportMarksTooLate { get; }
    public Histogram<double> ReportComputeDuration { get; }
    public Counter<long> AlertEscalationNotifications { get; }
    public Counter<long> AlertEscalationProblems { get; }

    /// <summary>
    /// Exports the accepted-message and reading counts the ingest path keeps (they also go to <c>service_stats</c>),
    /// so that the metric and the stored figures come from one count.
    /// </summary>
    public void ObserveAccepted(Func<long> messages, Func<long> readings)
    {
        meter.CreateObservableCounter("telemetry.mqtt.messages.accepted", messages, "{message}",
            "Device messages whose readings were accepted by the write pipeline");
        meter.CreateObservableCounter("telemetry.readings.accepted", readings, "{reading}",
            "Readings accepted by the write pipeline");
    }

    /// <summary>Exports the count of open MQTT connections the broker keeps for its connection limit.</summary>
    public void ObserveConnections(Func<long> open) =>
        meter.CreateObservableUpDownCounter("telemetry.mqtt.connections", open, "{connection}", "MQTT connections currently open");

    /// <summary>Registers an observable gauge on this meter (for values owned elsewhere, e.g. queue depth).</summary>
    public void ObserveGauge(string name, string unit, string description, Func<long> observe) =>
        meter.CreateObservableGauge(name, observe, unit, description);

    /// <summary>Registers an observable gauge whose measurements carry tags (e.g. an info-style gauge of value 1 labelled with a hash).</summary>
    public void ObserveGauge(string name, string unit, string description, Func<IEnumerable<Measurement<long>>> observe) =>
        meter.CreateObservableGauge(name, observe, unit, description);

    public void Dispose() => meter.Dispose();
}
