using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Grains.Persistence;

namespace Telemetry.Grains.Alerts;

/// <summary>The persisted state of the quiet windows.</summary>
public sealed class QuietWindowState
{
    public List<QuietWindow> Windows { get; set; } = [];
}

/// <summary>
/// The campus's quiet windows (key <c>campus</c>), persisted in the grain state store so every node of a cluster sees
/// the same. Windows that are over are forgotten when the list is read or changed. Validation is the API's
/// (<see cref="QuietWindowRules.Problems"/>), before a window reaches this grain.
/// </summary>
public sealed class QuietWindowGrain(
    [PersistentState("quiet-windows", GrainStorage.Name)] IPersistentState<QuietWindowState> state,
    TimeProvider clock) : Grain, IQuietWindowGrain
{
    public const string Key = "campus";

    public async Task<IReadOnlyList<QuietWindow>> GetWindows()
    {
        await ForgetOverAsync();
        return [.. state.State.Windows.OrderBy(w => w.StartsAtMs ?? w.CreatedAtMs).ThenBy(w => w.Id, StringComparer.Ordinal)];
    }

    public async Task<QuietWindow> Add(QuietWindow window)
    {
        ArgumentNullException.ThrowIfNull(window);
        state.State.Windows.RemoveAll(w => w.Id == window.Id);
        state.State.Windows.Add(window);
        await state.WriteStateAsync();
        return window;
    }

    public async Task<bool> Remove(string id)
    {
        var removed = state.State.Windows.RemoveAll(w => w.Id == id) > 0;
        if (removed)
        {
            await state.WriteStateAsync();
        }

        return removed;
    }

    async Task ForgetOverAsync()
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (state.State.Windows.RemoveAll(w => QuietWindowRules.IsOver(w, now)) > 0)
        {
            await state.WriteStateAsync();
        }
    }
}
