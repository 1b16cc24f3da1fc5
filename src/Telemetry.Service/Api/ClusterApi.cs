using Orleans.Runtime;
using Telemetry.Grains.Cluster;
using Telemetry.Service.Cluster;
using Telemetry.Service.Security;

namespace Telemetry.Service.Api;

/// <summary>
/// <c>GET /api/cluster</c> (role viewer), answered the same on any node: every silo in Orleans' membership (active,
/// joining, dead…) with what its node last reported to the cluster view (name, MQTT connections, spool bytes, registry
/// hash, start time) and its grain activations by type; whether the live nodes' registries agree; and which node answered.
/// A node that is not active, or whose report expired, has no report fields.
/// </summary>
public static class ClusterApi
{
    public static WebApplication MapClusterApi(this WebApplication app)
    {
        app.MapGet("/api/cluster", async (IClusterMembershipService membership, IGrainFactory grains, ClusterViewReporter reporter, CancellationToken ct) =>
        {
            var reports = (await grains.GetGrain<IClusterViewGrain>(ClusterViewGrain.Key).GetReports().WaitAsync(ct))
                .ToDictionary(r => r.SiloAddress, StringComparer.Ordinal);
            var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics(ct).WaitAsync(ct);
            var activations = statistics
                .GroupBy(s => s.SiloAddress.ToParsableString(), StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.GroupBy(s => s.GrainType, StringComparer.Ordinal)
                    .ToDictionary(t => t.Key, t => t.Sum(s => s.ActivationCount), StringComparer.Ordinal), StringComparer.Ordinal);
            var members = membership.CurrentSnapshot.Members.Values
                .Select(m =>
                {
                    var address = m.SiloAddress.ToParsableString();
                    var report = reports.GetValueOrDefault(address);
                    var byType = activations.GetValueOrDefault(address);
                    return new ClusterNode(
                        report?.Node,
                        address,
                        m.Name,
                        m.Status.ToString().ToLowerInvariant(),
                        report?.MqttConnections,
                        report?.SpoolPendingBytes,
                        report?.RegistryHash,
                        report is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(report.StartedAtMs),
                        report is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(report.ReportedAtMs),
                        byType?.Values.Sum() ?? 0,
                        byType ?? []);
                })
                .OrderBy(n => n.Status == "active" ? 0 : 1).ThenBy(n => n.Node ?? n.SiloAddress, StringComparer.Ordinal)
                .ToList();
            var liveHashes = members.Where(n => n.Status == "active" && n.RegistryHash is not null).Select(n => n.RegistryHash!).Distinct(StringComparer.Ordinal).ToList();
            return Results.Ok(new ClusterView(reporter.Node, liveHashes.Count <= 1, liveHashes, members));
        })
        .WithName("GetCluster")
        .WithSummary("The cluster's nodes and their view of the registry")
        .RequireAuthorization(ApiRoles.Viewer);
        return app;
    }

    /// <param name="AnsweredBy">The node that answered.</param>
    /// <param name="RegistriesAgree">Whether every active node that reported has the same registry hash.</param>
    /// <param name="RegistryHashes">The distinct registry hashes of the active nodes.</param>
    /// <param name="Nodes">Active nodes first, then by name.</param>
    public sealed record ClusterView(string AnsweredBy, bool RegistriesAgree, IReadOnlyList<string> RegistryHashes, IReadOnlyList<ClusterNode> Nodes);

    /// <param name="Node">The node's name, from its report (null without one).</param>
    /// <param name="SiloAddress">The silo's address in Orleans' form (<c>ip:port@generation</c>).</param>
    /// <param name="SiloName">The silo's name in Orleans' membership.</param>
    /// <param name="Status">Orleans' membership status, lowercase: active, joining, shuttingdown, stopping, dead…</param>
    /// <param name="MqttConnections">TCP connections open at the node's broker.</param>
    /// <param name="SpoolPendingBytes">Bytes in the node's spool not yet acknowledged by InfluxDB.</param>
    /// <param name="RegistryHash">SHA-256 of the node's registry file in force, or <c>none</c>.</param>
    /// <param name="StartedAt">When the node's process started.</param>
    /// <param name="ReportedAt">When its report was sent.</param>
    /// <param name="Activations">Grain activations on the silo.</param>
    /// <param name="ActivationsByType">Grain activations on the silo by grain type.</param>
    public sealed record ClusterNode(
        string? Node,
        string SiloAddress,
        string? SiloName,
        string Status,
        int? MqttConnections,
        long? SpoolPendingBytes,
        string? RegistryHash,
        DateTimeOffset? StartedAt,
        DateTimeOffset? ReportedAt,
        int Activations,
        IReadOnlyDictionary<string, int> ActivationsByType);
}
