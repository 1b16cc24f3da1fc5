using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Polly;
using Polly.Retry;
using Telemetry.Domain.Observability;
using Telemetry.Contracts;
using Telemetry.Grains.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Storage;
using Telemetry.Storage.Schema;

namespace Telemetry.Grains.Campus;

/// <summary>
/// The campus: starts every registered sensor, room and building (so a sensor that never reports still goes offline
/// on time, and every room writes its state), again after each registry reload; computes the campus figures from the
/// buildings and writes <c>campus_state</c> every <c>Campus:StateInterval</c>.
/// <para>
/// Survives a lost node (docs/operations.md#when-a-node-dies): a registered sensor's offline clock runs in its grain's
/// timer, and the grains of a node that dies are gone with it; a silent sensor's grain would never be activated again.
/// So the campus grain keeps a reminder (<see cref="ReminderName"/>, every minute: reminders live in the cluster's
/// reminder table, so the grain is activated again on a surviving node after its own node died), starts every
/// registered sensor at activation, and again whenever a silo it saw active is declared dead (checked at each tick
/// against the cluster membership). The sensors' grains then come back on the surviving nodes with their saved state,
/// and their offline clocks run from their saved last-seen times.
/// </para>
/// </summary>
public sealed class CampusGrain(
    ICampusRegistrySource registry,
    ITelemetryWriter writer,
    IOptions<CampusOptions> options,
    IOptions<ReminderOptions> reminderOptions,
    IClusterMembershipService membership,
    TelemetryMetrics metrics,
    TimeProvider time,
    ILogger<CampusGrain> logger) : Grain, ICampusGrain, IRemindable
{
    /// <summary>The reminder that brings the campus grain back after its node died.</summary>
    public const string ReminderName = "campus-keepalive";

    /// <summary>Sensors started at once (one grain call each), so 10,000 sensors do not flood the cluster.</summary>
    const int StartChunk = 256;

    /// <summary>Attempts to start one sensor (a call to a grain on a node just declared dead may fail once).</summary>
    const int StartAttempts = 3;

    CampusRegistry? started;

    /// <summary>Silos seen active since the sensors were last started: when one of them is dead, they are started again.</summary>
    readonly HashSet<SiloAddress> watched = [];
    MembershipVersion watchedVersion = MembershipVersion.MinValue;
    readonly KeepAliveReminder keepAlive = new(ReminderName);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var interval = options.Value.StateInterval;
        // The first tick soon after activation: an activation by the reminder (after the node that held this grain
        // died) starts every sensor without waiting for a whole interval.
        this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(TimeSpan.FromSeconds(1), interval) { KeepAlive = true });
        return Task.CompletedTask;
    }

    /// <summary>Nothing to do: the reminder only brings this grain back (its activation and ticks do the work).</summary>
    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    public Task Start() => StartAsync();

    /// <summary>
    /// Starts every registered sensor when the registry is not the one they were last started with, or when a silo
    /// seen active since then is dead (its grains are gone); otherwise nothing.
    /// </summary>
    async Task StartAsync()
    {
        await KeepReminderAsync();
        var current = registry.Current;
        var lost = SilosLost();
        var reason = started is null ? "activation" : !ReferenceEquals(current, started) ? "registry" : lost.Count > 0 ? "membership" : null;
        if (reason is null)
        {
            return;
        }

        if (lost.Count > 0)
        {
            logger.LogWarning("Campus {Campus}: node(s) {Silos} left the cluster; starting every registered sensor again so that the grains they held come back with their offline clocks",
                current.Campus.Id, string.Join(", ", lost));
        }

        started = current;
        metrics.CampusStarts.Add(1, new KeyValuePair<string, object?>("reason", reason));
        var sensors = current.Sensors.ToList();
        var failed = new List<string>();
        foreach (var chunk in sensors.Chunk(StartChunk))
        {
            failed.AddRange((await Task.WhenAll(chunk.Select(s => StartSensorAsync(s.Id)))).OfType<string>());
        }

        await Task.WhenAll(current.Buildings.Select(b => GrainFactory.GetGrain<IBuildingGrain>(b.Id).GetState(withRooms: false)));
        logger.LogInformation("Campus {Campus}: started {Buildings} buildings, {Rooms} rooms, {Sensors} registered sensors ({Reason})",
            current.Campus.Id, current.Buildings.Count, current.Buildings.Sum(b => b.Rooms.Count), sensors.Count - failed.Count, reason);
        if (failed.Count > 0)
        {
            // Not retried after its attempts: a campus start that failed for one sensor would loop on it. The sensor's
            // first message, or the next start (registry reload, membership change), activates it again; until then its
            // offline clock does not run.
            logger.LogError("Campus {Campus}: {Count} registered sensor(s) did not start: {Sensors}",
                current.Campus.Id, failed.Count, string.Join(", ", failed.Take(20)));
        }
    }

    /// <summary>
    /// The silos seen active before that are now dead (or gone from the membership); takes in the silos active now.
    /// Cheap when the membership has not changed since the last call (one version comparison).
    /// </summary>
    List<SiloAddress> SilosLost()
    {
        var snapshot = membership.CurrentSnapshot;
        if (snapshot.Version == watchedVersion)
        {
            return [];
        }

        watchedVersion = snapshot.Version;
        var lost = watched.Where(s => snapshot.GetSiloStatus(s) is SiloStatus.Dead or SiloStatus.None).ToList();
        watched.ExceptWith(lost);
        watched.UnionWith(snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress));
        return lost;
    }

    Task KeepReminderAsync() => keepAlive.EnsureAsync(this, reminderOptions.Value, logger);

    /// <summary>Starts one sensor; returns its id if it failed (logged), so one bad sensor does not stop the others.</summary>
    async Task<string?> StartSensorAsync(string sensorId)
    {
        try
        {
            await StartRetry.ExecuteAsync(static async (state, _) => await state.Grains.GetGrain<ISensorGrain>(state.Sensor).Start(),
                (Grains: GrainFactory, Sensor: sensorId), CancellationToken.None);
            return null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogWarning("Sensor {Sensor} did not start: {Error}", sensorId, ex.Message);
            return sensorId;
        }
    }

    /// <summary>
    /// <see cref="StartAttempts"/> attempts, 500 ms and then 1 s apart: a call routed to a node just declared dead fails
    /// once, and Orleans places the grain anew on the next.
    /// </summary>
    ResiliencePipeline StartRetry => startRetry ??= new ResiliencePipelineBuilder { TimeProvider = time }
        .AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = StartAttempts - 1,
            BackoffType = DelayBackoffType.Linear,
            Delay = TimeSpan.FromMilliseconds(500),
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OutOfMemoryException),
        })
        .Build();

    ResiliencePipeline? startRetry;

    public async Task<CampusState> GetState()
    {
        var current = registry.Current;
        var buildings = await Task.WhenAll(current.Buildings.Select(b => GrainFactory.GetGrain<IBuildingGrain>(b.Id).GetState(withRooms: false)));
        var active = await GrainFactory.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key).GetActive();
        var bySeverity = active.GroupBy(a => a.Severity).ToDictionary(g => g.Key, g => g.Count());
        return BuildingFigures.Compute(current.Campus, buildings, bySeverity);
    }

    async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            await StartAsync(); // no-op unless the registry was reloaded or a node left the cluster
            var state = await GetState();
            await writer.WriteDerivedAsync([SeriesLines.Campus(state, time.GetUtcNow().ToUnixTimeMilliseconds())], cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogWarning("Could not write campus_state: {Error}", ex.Message);
        }
    }
}
