using System.Diagnostics.Metrics;
using Orleans.Runtime;
using Telemetry.Broker;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Observability;
using Telemetry.Grains.Cluster;
using Telemetry.Service.Registry;
using Telemetry.Storage.Spool;
using Microsoft.Extensions.Options;

namespace Telemetry.Service.Cluster;

/// <summary>
/// Reports this node to the cluster view (<see cref="IClusterViewGrain"/>, key <c>campus</c>) every
/// <see cref="Interval"/> — its name, silo address, open MQTT connections, spool bytes, registry hash and start time,
/// kept there for <see cref="Expiry"/> — and keeps the view it gets back, from which it decides whether this node's
/// registry agrees with the other live nodes' (<see cref="IRegistryAgreement"/>: the <c>registry</c> health check, the
/// <c>telemetry_registry_nodes_disagreeing</c> gauge, and the sensor grains' hold on registration changes).
/// A node counts as live while its report has not expired and Orleans' membership lists its silo as active. In single-node
/// mode it reports to a view of one, which always agrees.
/// </summary>
public sealed class ClusterViewReporter : BackgroundService, IRegistryAgreement
{
    /// <summary>How often a node reports itself.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>How long a report is kept without renewal: a node that stopped reporting for this long leaves the view.</summary>
    public static readonly TimeSpan Expiry = TimeSpan.FromSeconds(10);

    readonly IGrainFactory grains;
    readonly ILocalSiloDetails silo;
    readonly IClusterMembershipService membership;
    readonly OpenConnections connections;
    readonly WriteAheadSpool spool;
    readonly ICampusRegistrySource registry;
    readonly TimeProvider time;
    readonly ILogger<ClusterViewReporter> logger;
    readonly LogThrottle failureLog;
    volatile IReadOnlyList<NodeReport> reports = [];
    Disagreement? disagreement;

    public ClusterViewReporter(IGrainFactory grains, ILocalSiloDetails silo, IClusterMembershipService membership, OpenConnections connections,
        WriteAheadSpool spool, ICampusRegistrySource registry, IOptions<SiloOptions> options, TelemetryMetrics metrics, TimeProvider time,
        ILogger<ClusterViewReporter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        this.grains = grains;
        this.silo = silo;
        this.membership = membership;
        this.connections = connections;
        this.spool = spool;
        this.registry = registry;
        this.time = time;
        this.logger = logger;
        failureLog = new LogThrottle(TimeSpan.FromMinutes(1), time, maxKeys: 1);
        Node = options.Value.EffectiveNodeName;
        StartedAtMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        metrics.ObserveGauge("telemetry.registry.nodes.disagreeing", "{node}",
            "Other live nodes of the cluster whose campus registry hash differs from this node's (0 when all agree)", () => Disagreeing().Count);
        metrics.ObserveGauge("telemetry.registry.info", "{registry}",
            "1, labelled with the SHA-256 of the registry file in force on this node (hash=\"none\" without a registry file)",
            () => [new Measurement<long>(1, new KeyValuePair<string, object?>("hash", RegistryHash.Of(registry)))]);
    }

    /// <summary>This node's name (<see cref="SiloOptions.EffectiveNodeName"/>).</summary>
    public string Node { get; }

    /// <summary>When this node started (Unix ms).</summary>
    public long StartedAtMs { get; }

    /// <summary>The registry hash in force on this node now.</summary>
    public string RegistryHashInForce => RegistryHash.Of(registry);

    /// <summary>The reports of the last round (this node's included), empty before the first answer.</summary>
    public IReadOnlyList<NodeReport> Reports => reports;

    public bool HoldsRegistryChanges => Disagreeing().Count > 0;

    /// <summary>
    /// The other live nodes whose registry hash differs from this node's current one. Asked by every sensor grain call
    /// on this node, so the answer is kept until this node's hash, the reports or the membership change; this node's
    /// own reload counts at once, not at the next report round.
    /// </summary>
    public IReadOnlyList<NodeReport> Disagreeing()
    {
        var mine = RegistryHashInForce;
        var seen = reports;
        var snapshot = membership.CurrentSnapshot;
        if (Volatile.Read(ref disagreement) is { } known && ReferenceEquals(known.Hash, mine) && ReferenceEquals(known.Reports, seen) && known.Version == snapshot.Version)
        {
            return known.Nodes;
        }

        var self = silo.SiloAddress.ToParsableString();
        var active = ActiveOf(snapshot);
        IReadOnlyList<NodeReport> nodes = [.. seen.Where(r => r.SiloAddress != self && active.Contains(r.SiloAddress) && !string.Equals(r.RegistryHash, mine, StringComparison.Ordinal))];
        Volatile.Write(ref disagreement, new Disagreement(mine, seen, snapshot.Version, nodes));
        return nodes;
    }

    sealed record Disagreement(string Hash, IReadOnlyList<NodeReport> Reports, MembershipVersion Version, IReadOnlyList<NodeReport> Nodes);

    /// <summary>The silos Orleans' membership lists as active, as <see cref="SiloAddress.ToParsableString"/>.</summary>
    public HashSet<string> ActiveSilos() => ActiveOf(membership.CurrentSnapshot);

    static HashSet<string> ActiveOf(ClusterMembershipSnapshot snapshot) =>
        snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString()).ToHashSet(StringComparer.Ordinal);

    /// <summary>This node's report as of now.</summary>
    public NodeReport Describe() => new(Node, silo.SiloAddress.ToParsableString(), connections.Count, spool.PendingBytes, RegistryHashInForce,
        StartedAtMs, time.GetUtcNow().ToUnixTimeMilliseconds());

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var view = grains.GetGrain<IClusterViewGrain>(ClusterViewGrain.Key);
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                var before = HoldsRegistryChanges;
                reports = await view.Report(Describe(), Expiry).WaitAsync(stoppingToken);
                var now = Disagreeing();
                if (now.Count > 0 != before)
                {
                    if (now.Count > 0)
                    {
                        logger.LogWarning("Campus registry {Hash} on this node differs from {Nodes}: sensor grains here hold registration changes until the nodes agree",
                            RegistryHashInForce, string.Join(", ", now.Select(r => $"{r.Node} ({r.RegistryHash})")));
                    }
                    else
                    {
                        logger.LogInformation("Campus registry {Hash}: every live node agrees", RegistryHashInForce);
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The silo starting or a node lost: the view comes back by itself; one line a minute is enough.
                if (failureLog.ShouldLog("report", out var suppressed))
                {
                    logger.LogWarning("Could not report this node to the cluster view ({Suppressed} more failures in the last minute): {Error}", suppressed, ex.Message);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
