using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Telemetry.Broker;
using Telemetry.Domain.Alerts;
using Telemetry.Service.Registry;
using Telemetry.Storage.Drain;
using Telemetry.Storage.Influx;
using Telemetry.Storage.Spool;

namespace Telemetry.Service.Health;

/// <summary>
/// <c>/health/live</c>: the process answers. <c>/health/ready</c>: the broker listens, the silo is active, the spool
/// has room and InfluxDB answers its ping (503 otherwise); Degraded (still 200) while a backlog waits in the spool
/// for longer than <c>Spool:DegradedAfter</c>, while the grains lag behind the spool by more than
/// <c>Spool:FeedDegradedAfter</c>, while a write-path stage fails with a resource error (EMFILE, ENOSPC…), while a sensor's alerts do not fully run, or while the last edit of the
/// registry file was refused or another live node of the cluster runs a different registry. The body names each check, its state, why, and the spool's numbers.
/// </summary>
public static class HealthEndpoints
{
    const string Ready = "ready";

    public static WebApplicationBuilder AddTelemetryHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks()
            .AddCheck<BrokerHealthCheck>("broker", tags: [Ready])
            .AddCheck<SiloHealthCheck>("silo", tags: [Ready])
            .AddCheck<SpoolHealthCheck>("spool", tags: [Ready])
            .AddCheck<GrainFeedHealthCheck>("grain_feed", tags: [Ready])
            .AddCheck<WritePathHealthCheck>("write_path", tags: [Ready])
            .AddCheck<InfluxHealthCheck>("influxdb", tags: [Ready])
            .AddCheck<AlertEngineHealthCheck>("alerts", tags: [Ready])
            .AddCheck<RegistryHealthCheck>("registry", tags: [Ready])
            .AddCheck<CredentialStoreHealthCheck>("credentials", tags: [Ready]);
        return builder;
    }

    public static WebApplication MapTelemetryHealth(this WebApplication app)
    {
        // Anonymous: orchestrators' probes carry no credentials (docs/security.md).
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready), ResponseWriter = WriteAsync }).AllowAnonymous();
        return app;
    }

    static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Description,
                data = e.Value.Data.Count > 0 ? e.Value.Data : null,
            }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonOptions));
    }

    static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}

sealed class BrokerHealthCheck(MqttBroker broker) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(broker.IsListening
            ? HealthCheckResult.Healthy($"listening on {broker.Endpoint}")
            : HealthCheckResult.Unhealthy($"not listening on {broker.Endpoint}"));
}

sealed class SiloHealthCheck(ISiloStatusOracle oracle) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(oracle.CurrentStatus == SiloStatus.Active
            ? HealthCheckResult.Healthy("silo active")
            : HealthCheckResult.Unhealthy($"silo {oracle.CurrentStatus}"));
}

sealed class SpoolHealthCheck(WriteAheadSpool spool, InfluxDrainer drainer, IOptions<SpoolOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var age = spool.OldestPendingAge;
        var data = new Dictionary<string, object>
        {
            ["pendingLines"] = spool.PendingLines,
            ["pendingBytes"] = spool.PendingBytes,
            ["capacityBytes"] = spool.Capacity,
            ["oldestPendingSeconds"] = Math.Round(age.TotalSeconds, 1),
            ["influxOutage"] = drainer.InOutage,
        };
        if (spool.IsFull)
        {
            var waitingFor = spool.FeedsGrains && spool.FeedLagBytes > spool.PendingBytes ? "the grains catch up" : "InfluxDB catches up";
            return Task.FromResult(HealthCheckResult.Unhealthy($"the spool is full: devices are not acknowledged until {waitingFor}", data: data));
        }

        return Task.FromResult(age > options.Value.DegradedAfter
            ? HealthCheckResult.Degraded($"a backlog waits for InfluxDB: the oldest reading has waited {age.TotalSeconds:0} s", data: data)
            : HealthCheckResult.Healthy("durable; backlog within bounds", data));
    }
}

/// <summary>
/// The grain feed's lag: how much of the spool the grains have not yet consumed (applied and saved). Degraded (still 200)
/// while the oldest record they have not consumed is older than <c>Spool:FeedDegradedAfter</c>: roll-ups, alerts and
/// room figures are that late, and the spool keeps what they have not consumed (when it fills up, the spool check says
/// Unhealthy and devices are not acknowledged). Healthy and says so when the spool has no grain feed.
/// </summary>
sealed class GrainFeedHealthCheck(WriteAheadSpool spool, IOptions<SpoolOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!spool.FeedsGrains)
        {
            return Task.FromResult(HealthCheckResult.Healthy("the grains are not fed from the spool"));
        }

        var age = spool.FeedOldestAge;
        var data = new Dictionary<string, object>
        {
            ["lagLines"] = spool.FeedLagLines,
            ["lagBytes"] = spool.FeedLagBytes,
            ["oldestUnconsumedSeconds"] = Math.Round(age.TotalSeconds, 1),
            ["consumed"] = spool.FeedConsumed.ToString(),
        };
        return Task.FromResult(age > options.Value.FeedDegradedAfter
            ? HealthCheckResult.Degraded($"the grains lag behind the spool: the oldest record they have not consumed has waited {age.TotalSeconds:0} s", data: data)
            : HealthCheckResult.Healthy("the grains keep up with the spool", data));
    }
}

/// <summary>
/// Degraded while a stage of the write path (spool append, read, checkpoint, segment release, drain) keeps failing
/// with a resource error; each such stage is retried with backoff and this check turns Healthy again by itself.
/// </summary>
sealed class WritePathHealthCheck(WriteAheadSpool spool) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failing = spool.Health.Failing.OrderBy(f => f.Key, StringComparer.Ordinal).ToList();
        if (failing.Count == 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy("no resource errors"));
        }

        var data = failing.ToDictionary(f => f.Key, f => (object)$"{f.Value.Reason} since {f.Value.Since:O}: {f.Value.Error}");
        return Task.FromResult(HealthCheckResult.Degraded(
            $"failing and retried: {string.Join(", ", failing.Select(f => $"{f.Key} ({f.Value.Reason})"))}", data: data));
    }
}

sealed class InfluxHealthCheck(IInfluxTarget target) : IHealthCheck
{
    static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PingTimeout);
        bool answers;
        try
        {
            answers = await target.PingAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            answers = false;
        }

        return answers
            ? HealthCheckResult.Healthy($"{target.Describe()} answers")
            : HealthCheckResult.Unhealthy($"{target.Describe()} does not answer its ping within {PingTimeout.TotalSeconds:0} s; readings wait in the spool");
    }
}

/// <summary>
/// Degraded (still 200) while some sensor's alert engine could not be built as configured: its readings are stored,
/// but some or all of its alerts do not run. Names each sensor and what is to blame (its saved state, or the engine):
/// rules are checked once by the registry loader, so a rule cannot be.
/// </summary>
sealed class AlertEngineHealthCheck(AlertEngineProblems problems) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var current = problems.Current;
        if (current.Count == 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy("every registered sensor's alert rules run"));
        }

        var data = current.ToDictionary(p => p.SensorId, p => (object)p.ToString(), StringComparer.Ordinal);
        var named = string.Join("; ", current.Take(5).Select(p => $"sensor {p.SensorId}: {p.Culprit}"));
        var more = current.Count > 5 ? $"; and {current.Count - 5} more" : "";
        return Task.FromResult(HealthCheckResult.Degraded(
            $"alerts do not fully run for {current.Count} sensor(s), whose readings are stored regardless: {named}{more}", data: data));
    }
}

/// <summary>Degraded while the last edit of the credential store was refused (the previous store stays in force).</summary>
sealed class CredentialStoreHealthCheck(Telemetry.Broker.Identity.CredentialStore store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(!store.IsConfigured
            ? HealthCheckResult.Healthy("no credential store: password logins are off")
            : store.LastError is { } error
                ? HealthCheckResult.Degraded($"{store.Path}: the last edit was not taken, the previous store ({store.Count} identities) stays in force: {error}")
                : HealthCheckResult.Healthy($"{store.Path} in force: {store.Count} identities"));
}

/// <summary>
/// The registry in force on this node: its hash (SHA-256 of the file, <c>data.hash</c>) and, in a cluster, the hashes of
/// the other live nodes (<c>data.nodes</c>). Degraded (still 200) while the last edit of the registry file was refused
/// (the previous registry stays in force; names where the errors are, <c>file:line:column</c>), or while another live
/// node reports a different hash (sensor grains on this node then hold registration changes until the nodes agree).
/// </summary>
sealed class RegistryHealthCheck(IServiceProvider services, Telemetry.Service.Cluster.ClusterViewReporter view) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["node"] = view.Node,
            ["hash"] = view.RegistryHashInForce,
        };
        var active = view.ActiveSilos();
        var nodes = view.Reports.Where(r => active.Contains(r.SiloAddress)).ToDictionary(r => r.Node, r => (object)r.RegistryHash, StringComparer.Ordinal);
        if (nodes.Count > 0)
        {
            data["nodes"] = nodes;
        }

        var file = services.GetService<CampusRegistryFile>();
        var errors = file?.LastErrors ?? [];
        if (errors.Count > 0)
        {
            foreach (var (error, i) in errors.Take(20).Select((e, i) => (e, i)))
            {
                data[$"error {i + 1}"] = error.ToString();
            }

            return Task.FromResult(HealthCheckResult.Degraded(
                $"the last edit of {file!.Path} was refused ({errors.Count} error(s), first: {errors[0]}); the previous registry stays in force",
                data: data));
        }

        var disagreeing = view.Disagreeing();
        if (disagreeing.Count > 0)
        {
            return Task.FromResult(HealthCheckResult.Degraded(
                $"this node's registry {view.RegistryHashInForce} differs from {string.Join(", ", disagreeing.Select(r => $"{r.Node}'s {r.RegistryHash}"))}: "
                + "roll the same file out to every node; until the nodes agree, sensor grains here keep the registration they last applied",
                data: data));
        }

        return Task.FromResult(file is null
            ? HealthCheckResult.Healthy("no registry file: every sensor is unregistered", data)
            : HealthCheckResult.Healthy($"{file.Path} in force{(nodes.Count > 1 ? $", the same on all {nodes.Count} live nodes" : "")}", data));
    }
}
