using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Grains.Persistence;

namespace Telemetry.Grains.Alerts;

/// <summary>The persisted state of the alert index: active alerts by id and the most recent finished ones.</summary>
public sealed class AlertIndexState
{
    public Dictionary<string, AlertInfo> Active { get; set; } = new(StringComparer.Ordinal);

    public List<AlertInfo> Recent { get; set; } = [];
}

/// <summary>
/// The campus-wide list of alerts. Every lifecycle step is persisted before the call returns, so after a restart the
/// API, the campus figures and the retained MQTT alert messages start from what was active.
/// </summary>
public sealed class AlertIndexGrain(
    [PersistentState("alerts", GrainStorage.Name)] IPersistentState<AlertIndexState> state,
    IOptions<CampusOptions> options) : Grain, IAlertIndexGrain
{
    public const string Key = "campus";

    public async Task Record(AlertStep alertStep)
    {
        ArgumentNullException.ThrowIfNull(alertStep);
        var alert = alertStep.Alert;
        if (alert.IsActive)
        {
            state.State.Active[alert.Id] = alert;
        }
        else
        {
            state.State.Active.Remove(alert.Id);
            state.State.Recent.RemoveAll(a => a.Id == alert.Id);
            state.State.Recent.Add(alert);
            var excess = state.State.Recent.Count - Math.Max(1, options.Value.RecentAlerts);
            if (excess > 0)
            {
                state.State.Recent.RemoveRange(0, excess);
            }
        }

        await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<AlertInfo>> GetActive() =>
        Task.FromResult<IReadOnlyList<AlertInfo>>([.. state.State.Active.Values.OrderByDescending(a => a.RaisedAtMs)]);

    public Task<IReadOnlyList<AlertInfo>> GetRecent(int max)
    {
        var recent = state.State.Recent.AsEnumerable().Reverse().Take(Math.Clamp(max, 1, 10_000));
        return Task.FromResult<IReadOnlyList<AlertInfo>>([.. recent]);
    }

    public Task<AlertInfo?> Find(string alertId) =>
        Task.FromResult(state.State.Active.GetValueOrDefault(alertId) ?? state.State.Recent.FindLast(a => a.Id == alertId));
}
