namespace Telemetry.Contracts;

/// <summary>What a notification to a destination says happened (docs/alerts.md, "Delivery").</summary>
[GenerateSerializer, Alias("Telemetry.AlertNotificationKind")]
public enum AlertNotificationKind
{
    /// <summary>The alert was raised.</summary>
    Raised,
    /// <summary>Someone acknowledged it.</summary>
    Acknowledged,
    /// <summary>It cleared (by itself, by a person or by a rule change).</summary>
    Cleared,
    /// <summary>Still active and unacknowledged after the severity's re-notification interval: sent again.</summary>
    Renotified,
    /// <summary>Still active and unacknowledged after the severity's escalation delay: sent to the escalation destinations.</summary>
    Escalated,
}

/// <summary>
/// One notification to one destination, as the outbox keeps it until the destination took it. <see cref="Key"/> is the
/// idempotency key (the same for every attempt and every redelivery of this notification, different for any other):
/// <c>{alertId}/{kind}/{atMs}</c>. A receiver that has seen the key drops the duplicate.
/// </summary>
[GenerateSerializer, Immutable, Alias("Telemetry.AlertNotification")]
public sealed record AlertNotification(
    [property: Id(0)] string Key,
    [property: Id(1)] AlertNotificationKind Kind,
    [property: Id(2)] long AtMs,
    [property: Id(3)] AlertInfo Alert,
    [property: Id(4)] int Repeat)
{
    /// <summary>The idempotency key of the notification of <paramref name="kind"/> about <paramref name="alert"/> made at <paramref name="atMs"/>.</summary>
    public static string KeyOf(AlertInfo alert, AlertNotificationKind kind, long atMs)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return $"{alert.Id}/{WireName.Of(kind)}/{atMs}";
    }
}

/// <summary>
/// A quiet window (quiet hours or a maintenance window): while it is in force, notifications about the alerts it
/// covers are not sent (the alerts are still raised, recorded, written to InfluxDB and published over MQTT).
/// It covers one building, or one sensor, or (neither) the whole campus, alerts up to <see cref="UpToSeverity"/>.
/// In force between <see cref="StartsAtMs"/> and <see cref="EndsAtMs"/> (either open), and — when
/// <see cref="Schedule"/> is set — only in its periods (campus local time, the timetable grammar, e.g.
/// <c>mon-fri 22:00-06:00</c>).
/// </summary>
[GenerateSerializer, Immutable, Alias("Telemetry.QuietWindow")]
public sealed record QuietWindow(
    [property: Id(0)] string Id,
    [property: Id(1)] string? Building,
    [property: Id(2)] string? Sensor,
    [property: Id(3)] long? StartsAtMs,
    [property: Id(4)] long? EndsAtMs,
    [property: Id(5)] string? Schedule,
    [property: Id(6)] AlertSeverity UpToSeverity,
    [property: Id(7)] string Reason,
    [property: Id(8)] string CreatedBy,
    [property: Id(9)] long CreatedAtMs);

/// <summary>The campus's quiet windows (one grain, key <c>campus</c>), persisted; set and listed through the API.</summary>
[Alias("Telemetry.IQuietWindowGrain")]
public interface IQuietWindowGrain : IGrainWithStringKey
{
    /// <summary>Every window not yet over, ordered by start.</summary>
    [Alias("GetWindows")]
    Task<IReadOnlyList<QuietWindow>> GetWindows();

    /// <summary>Adds a window (already validated by the API); completes once persisted.</summary>
    [Alias("Add")]
    Task<QuietWindow> Add(QuietWindow window);

    /// <summary>Removes a window; false when there is none with that id.</summary>
    [Alias("Remove")]
    Task<bool> Remove(string id);
}

/// <summary>
/// What an outbox holds and has done, for the API and the tests: the alert index step it has read up to
/// (<see cref="Cursor"/>), the notifications waiting (<see cref="Pending"/>), totals since the outbox was created
/// (<see cref="Delivered"/>, <see cref="Suppressed"/> by a quiet window, <see cref="GivenUp"/> after MaxAge or
/// MaxAttempts, <see cref="Expired"/>: recorded more than MaxAge before the outbox read them), the last delivery
/// error, and (<see cref="Watched"/>) how many active alerts a state-driven destination was given at its last refresh.
/// </summary>
[GenerateSerializer, Immutable, Alias("Telemetry.OutboxStatus")]
public sealed record OutboxStatus(
    [property: Id(0)] string Destination,
    [property: Id(1)] long Cursor,
    [property: Id(2)] int Pending,
    [property: Id(3)] long Delivered,
    [property: Id(4)] long Suppressed,
    [property: Id(5)] long GivenUp,
    [property: Id(6)] string? LastError,
    [property: Id(7)] int Watched,
    [property: Id(8)] long Expired = 0);

/// <summary>
/// The persistent outbox of one notification destination (key: the destination's name). It takes the alert index's
/// steps after its saved cursor, turns them into notifications (plus re-notifications and escalations that fall due),
/// persists them, and delivers each at least once, retrying until it is taken or too old.
/// </summary>
[Alias("Telemetry.IAlertOutboxGrain")]
public interface IAlertOutboxGrain : IGrainWithStringKey
{
    /// <summary>Activates the outbox if needed and takes the index's new steps; cheap, called on every step and periodically by each node.</summary>
    [Alias("Wake")]
    Task Wake();

    /// <summary>Adds notifications made elsewhere (re-notifications, escalations); completes once they are persisted.</summary>
    [Alias("Enqueue")]
    Task Enqueue(IReadOnlyList<AlertNotification> notifications);

    [Alias("GetStatus")]
    Task<OutboxStatus> GetStatus();
}

/// <summary>
/// Re-notification and escalation of alerts nobody acknowledges (one grain, key <c>campus</c>): reads the alert
/// index's steps after its saved cursor, watches every active unacknowledged alert, and when the severity's policy
/// says so enqueues <see cref="AlertNotificationKind.Renotified"/> and <see cref="AlertNotificationKind.Escalated"/>
/// notifications in the destinations' outboxes. Stops watching an alert on acknowledge or clear.
/// </summary>
[Alias("Telemetry.IAlertEscalationGrain")]
public interface IAlertEscalationGrain : IGrainWithStringKey
{
    /// <summary>Activates the grain if needed and takes the index's new steps.</summary>
    [Alias("Wake")]
    Task Wake();
}
