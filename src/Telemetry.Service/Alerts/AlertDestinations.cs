using Telemetry.Grains.Alerts.Delivery;

namespace Telemetry.Service.Alerts;

/// <summary>
/// Every alert destination registered in DI (<see cref="IAlertDestination"/> singletons: one per webhook, the
/// Alertmanager when configured), by name. Names key the outboxes, so they must be unique: a duplicate stops the
/// service at start (the waker resolves this at start).
/// </summary>
public sealed class AlertDestinations : IAlertDestinations
{
    readonly Dictionary<string, IAlertDestination> byName;

    public AlertDestinations(IEnumerable<IAlertDestination> destinations)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        All = [.. destinations];
        var duplicates = All.GroupBy(d => d.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
        {
            throw new InvalidOperationException(
                $"Alert destination names must be unique (each keys its outbox); used more than once: {string.Join(", ", duplicates.Select(d => $"'{d}'"))}. Set Alerts:Webhooks:<n>:Name");
        }

        byName = All.ToDictionary(d => d.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<IAlertDestination> All { get; }

    public IAlertDestination? Find(string name) => byName.GetValueOrDefault(name);
}
