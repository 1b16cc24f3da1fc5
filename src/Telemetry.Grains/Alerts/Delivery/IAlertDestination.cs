using Telemetry.Contracts;

namespace Telemetry.Grains.Alerts.Delivery;

/// <summary>
/// Somewhere alert notifications go (a webhook, Prometheus Alertmanager), implemented by the host; the outbox grain
/// of the same <see cref="Name"/> calls it.
/// </summary>
public interface IAlertDestination
{
    /// <summary>The destination's configured name, the key of its outbox grain.</summary>
    string Name { get; }

    /// <summary>Whether this destination takes notifications about <paramref name="alert"/> of <paramref name="kind"/> (severity and event filters).</summary>
    bool Wants(AlertInfo alert, AlertNotificationKind kind);

    /// <summary>Delivers one notification; completes when the destination took it, throws when it did not.</summary>
    Task SendAsync(AlertNotification notification, CancellationToken cancellationToken);

    /// <summary>
    /// How often a state-driven destination (Alertmanager) is given the whole active set (<see cref="RefreshAsync"/>);
    /// null for destinations that only take notifications.
    /// </summary>
    TimeSpan? RefreshInterval { get; }

    /// <summary>Gives a state-driven destination every active alert it wants that no quiet window suppresses.</summary>
    Task RefreshAsync(IReadOnlyList<AlertInfo> active, CancellationToken cancellationToken);
}

/// <summary>The configured destinations, by name.</summary>
public interface IAlertDestinations
{
    IReadOnlyList<IAlertDestination> All { get; }

    IAlertDestination? Find(string name);
}
