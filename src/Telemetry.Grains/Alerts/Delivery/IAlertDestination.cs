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

    /// <summary>How the outbox retries and when it gives up (<see cref="AlertDeliveryPolicy.Default"/> unless the destination says otherwise).</summary>
    AlertDeliveryPolicy Delivery => AlertDeliveryPolicy.Default;
}

/// <summary>
/// How an outbox retries one destination: the pause after a failure doubles from 1 s up to <see cref="MaxDelay"/>
/// (with jitter); a notification is given up when it was taken more than <see cref="MaxAge"/> ago, or after
/// <see cref="MaxAttempts"/> attempts when that is above 0. Steps recorded more than <see cref="MaxAge"/> before the
/// outbox reads them are not taken (expired).
/// </summary>
public sealed record AlertDeliveryPolicy(TimeSpan MaxDelay, TimeSpan MaxAge, int MaxAttempts)
{
    /// <summary>5 minutes between attempts at most, given up after 24 hours, no limit on attempts.</summary>
    public static AlertDeliveryPolicy Default { get; } = new(TimeSpan.FromMinutes(5), TimeSpan.FromHours(24), 0);
}

/// <summary>The configured destinations, by name.</summary>
public interface IAlertDestinations
{
    IReadOnlyList<IAlertDestination> All { get; }

    IAlertDestination? Find(string name);
}
