namespace Telemetry.Grains.Cluster;

/// <summary>
/// What one node says about itself to the cluster view, every few seconds (<c>ClusterViewReporter</c> in the service).
/// </summary>
/// <param name="Node">The node's name (<c>Orleans:NodeName</c>, or host and silo port).</param>
/// <param name="SiloAddress">Its silo's address as Orleans writes it (<c>SiloAddress.ToParsableString</c>), to match it with the membership.</param>
/// <param name="MqttConnections">TCP connections open at its broker.</param>
/// <param name="SpoolPendingBytes">Bytes its spool holds that InfluxDB has not acknowledged.</param>
/// <param name="RegistryHash">SHA-256 (hex) of the registry file content in force on the node, or <c>none</c>.</param>
/// <param name="StartedAtMs">When the node's process started (Unix ms).</param>
/// <param name="ReportedAtMs">When the node sent this report, by its clock (Unix ms).</param>
[GenerateSerializer, Immutable, Alias("Telemetry.NodeReport")]
public sealed record NodeReport(
    [property: Id(0)] string Node,
    [property: Id(1)] string SiloAddress,
    [property: Id(2)] int MqttConnections,
    [property: Id(3)] long SpoolPendingBytes,
    [property: Id(4)] string RegistryHash,
    [property: Id(5)] long StartedAtMs,
    [property: Id(6)] long ReportedAtMs);

/// <summary>
/// The cluster-wide view (one grain, key <see cref="ClusterViewGrain.Key"/>): each node's latest report, kept until it
/// expires. In memory only: a view lost with its node is filled again by the next round of reports.
/// </summary>
[Alias("Telemetry.IClusterViewGrain")]
public interface IClusterViewGrain : IGrainWithStringKey
{
    /// <summary>Keeps <paramref name="report"/> (replacing the node's previous one) for <paramref name="expiry"/>; returns every report not expired.</summary>
    [Alias("Report")]
    Task<IReadOnlyList<NodeReport>> Report(NodeReport report, TimeSpan expiry);

    /// <summary>Every report not expired, by node name.</summary>
    [Alias("GetReports")]
    Task<IReadOnlyList<NodeReport>> GetReports();
}

/// <summary>The reports of the nodes, each dropped when it was not renewed within its expiry (by this grain's clock).</summary>
public sealed class ClusterViewGrain(TimeProvider time) : Grain, IClusterViewGrain
{
    public const string Key = "campus";

    readonly Dictionary<string, (NodeReport Report, long ExpiresAtMs)> reports = new(StringComparer.Ordinal);

    public Task<IReadOnlyList<NodeReport>> Report(NodeReport report, TimeSpan expiry)
    {
        ArgumentNullException.ThrowIfNull(report);
        reports[report.Node] = (report, Now + (long)expiry.TotalMilliseconds);
        return GetReports();
    }

    public Task<IReadOnlyList<NodeReport>> GetReports()
    {
        var now = Now;
        foreach (var expired in reports.Where(r => r.Value.ExpiresAtMs <= now).Select(r => r.Key).ToList())
        {
            reports.Remove(expired);
        }

        return Task.FromResult<IReadOnlyList<NodeReport>>([.. reports.Values.Select(r => r.Report).OrderBy(r => r.Node, StringComparer.Ordinal)]);
    }

    long Now => time.GetUtcNow().ToUnixTimeMilliseconds();
}
