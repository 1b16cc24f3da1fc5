namespace Telemetry.Grains.Cluster;

/// <summary>
/// Whether this node's campus registry agrees with the other live nodes' (their registry hashes, from the cluster view).
/// While it does not, sensor grains on this node hold registration changes: they keep the registry they last applied
/// (see <c>SensorGrain</c> and docs/operations.md, "Changing the registry in a cluster").
/// </summary>
public interface IRegistryAgreement
{
    /// <summary>True while another live node reports a registry hash different from this node's.</summary>
    bool HoldsRegistryChanges { get; }
}
