namespace Telemetry.Contracts;

/// <summary>An alert as the API, the notifications and the alert index see it (docs/alerts.md).</summary>
[GenerateSerializer, Immutable, Alias("Telemetry.AlertInfo")]
public sealed record AlertInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Building,
    [property: Id(2)] string Room,
    [property: Id(3)] string Sensor,
    [property: Id(4)] string Rule,
    [property: Id(5)] AlertRuleType RuleType,
    [property: Id(6)] AlertSeverity Severity,
    [property: Id(7)] AlertState State,
    [property: Id(8)] long RaisedAtMs,
    [property: Id(9)] double? Value,
    [property: Id(10)] string Message,
    [property: Id(11)] long? AcknowledgedAtMs,
    [property: Id(12)] string? AcknowledgedBy,
    [property: Id(13)] string? AcknowledgeNote,
    [property: Id(14)] long? ClearedAtMs,
    [property: Id(15)] string? ClearedBy,
    [property: Id(16)] bool Flapping)
{
    public bool IsActive => State != AlertState.Cleared;
}

/// <summary>A lifecycle step of an alert, and when.</summary>
[GenerateSerializer, Immutable, Alias("Telemetry.AlertStep")]
public sealed record AlertStep(
    [property: Id(0)] AlertEvent Event,
    [property: Id(1)] long AtMs,
    [property: Id(2)] AlertInfo Alert);

/// <summary>The answer to an acknowledge or clear request.</summary>
[GenerateSerializer, Immutable, Alias("Telemetry.AlertCommandResult")]
public sealed record AlertCommandResult(
    [property: Id(0)] bool Succeeded,
    [property: Id(1)] string? Error,
    [property: Id(2)] AlertInfo? Alert);

/// <summary>
/// The campus-wide list of alerts (one grain, key <c>campus</c>): every active alert and the most recent finished
/// ones, persisted, so the API and notifications after a restart know what is active.
/// </summary>
[Alias("Telemetry.IAlertIndexGrain")]
public interface IAlertIndexGrain : IGrainWithStringKey
{
    /// <summary>Records a lifecycle step; completes once it is persisted.</summary>
    [Alias("Record")]
    Task Record(AlertStep alertStep);

    [Alias("GetActive")]
    Task<IReadOnlyList<AlertInfo>> GetActive();

    [Alias("GetRecent")]
    Task<IReadOnlyList<AlertInfo>> GetRecent(int max);

    [Alias("Find")]
    Task<AlertInfo?> Find(string alertId);

    /// <summary>
    /// Subscribes (or renews) a node's observer for the steps recorded from now on, and returns what the node missed
    /// after <paramref name="afterSeq"/> (its last seen sequence number; negative when it has seen none). An observer
    /// that is not renewed within the index's expiry is dropped. Keyed by <paramref name="nodeName"/>: a node's new
    /// observer replaces its old one.
    /// </summary>
    [Alias("Subscribe")]
    Task<AlertFeed> Subscribe(string nodeName, IAlertStepObserver observer, long afterSeq);

    /// <summary>
    /// The steps after <paramref name="afterSeq"/> (a reader's saved cursor), without subscribing: the outboxes and
    /// the escalation read the index's log this way. Same answer as <see cref="Subscribe"/>.
    /// </summary>
    [Alias("GetSteps")]
    Task<AlertFeed> GetSteps(long afterSeq);
}

/// <summary>A node's receiver of the alert index's steps (an Orleans grain observer, one per node).</summary>
[Alias("Telemetry.IAlertStepObserver")]
public interface IAlertStepObserver : IGrainObserver
{
    /// <summary>The step recorded with sequence number <paramref name="seq"/>; sequence numbers rise by one per step.</summary>
    [Alias("OnStep")]
    Task OnStep(long seq, AlertStep alertStep);
}

/// <summary>
/// An alert step with the alert index's sequence number and the service time it was recorded at
/// (<see cref="RecordedAtMs"/>; 0 in logs written before it was kept). The step's own time (<see cref="AlertStep.AtMs"/>)
/// can be a reading's time far in the past; the outboxes judge a step's age by when it was recorded.
/// </summary>
[GenerateSerializer, Immutable, Alias("Telemetry.SequencedAlertStep")]
public sealed record SequencedAlertStep(
    [property: Id(0)] long Seq,
    [property: Id(1)] AlertStep Step,
    [property: Id(2)] long RecordedAtMs = 0);

/// <summary>
/// The answer to <see cref="IAlertIndexGrain.Subscribe"/>: <see cref="LastSeq"/> is the index's newest sequence
/// number. Either <see cref="Steps"/> holds every step after the caller's sequence number (catch-up, in order), or —
/// when those are no longer all in the index's log — <see cref="Active"/> holds every active alert (the caller
/// republishes them instead) and <see cref="Gap"/> says why.
/// </summary>
[GenerateSerializer, Immutable, Alias("Telemetry.AlertFeed")]
public sealed record AlertFeed(
    [property: Id(0)] long LastSeq,
    [property: Id(1)] IReadOnlyList<SequencedAlertStep> Steps,
    [property: Id(2)] IReadOnlyList<AlertInfo>? Active,
    [property: Id(3)] string? Gap);
