using Telemetry.Contracts;

namespace Telemetry.Grains.Alerts.Delivery;

/// <summary>
/// Where the escalation hands its notifications: the outbox grain of each destination
/// (<see cref="GrainAlertOutboxes"/>). A seam of its own so that the escalation's decisions can be checked with the
/// real service running, without the delivery behind the outboxes.
/// </summary>
public interface IAlertOutboxes
{
    /// <summary>Adds <paramref name="notifications"/> to the outbox of <paramref name="destination"/>; completes once they are persisted there, throws when they are not.</summary>
    Task EnqueueAsync(string destination, IReadOnlyList<AlertNotification> notifications);
}

/// <summary>The outbox grains (<see cref="IAlertOutboxGrain"/>, keyed by destination name).</summary>
public sealed class GrainAlertOutboxes(IGrainFactory grains) : IAlertOutboxes
{
    public Task EnqueueAsync(string destination, IReadOnlyList<AlertNotification> notifications) =>
        grains.GetGrain<IAlertOutboxGrain>(destination).Enqueue(notifications);
}
