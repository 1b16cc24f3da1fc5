using System.Net;

namespace Telemetry.Service.Cluster;

/// <summary>How the silos of the service find each other (<c>Orleans:Clustering</c>).</summary>
public enum ClusteringMode
{
    /// <summary>One node: in-memory membership on loopback ports, grain state in files (the default).</summary>
    Localhost,

    /// <summary>A cluster: membership, grain state and reminders in PostgreSQL (Orleans' ADO.NET providers, Npgsql).</summary>
    AdoNet,
}

/// <summary>
/// Orleans silo options (configuration section <c>Orleans</c>), for one node or a cluster (docs/configuration.md,
/// docs/operations.md#running-as-a-cluster):
/// <code>
/// "Orleans": { "Clustering": "AdoNet", "ConnectionString": "(from the environment)", "AdvertisedAddress": "10.0.0.5",
///              "SiloPort": 11111, "GatewayPort": 30000, "ClusterId": "campus", "ServiceId": "campus-telemetry", "NodeName": "node-a" }
/// </code>
/// </summary>
public sealed class SiloOptions
{
    public const string SectionName = "Orleans";

    public ClusteringMode Clustering { get; set; } = ClusteringMode.Localhost;

    /// <summary>
    /// AdoNet only: the Npgsql connection string of the PostgreSQL database that holds membership, grain state and
    /// reminders. A secret: give it through the environment (<c>Orleans__ConnectionString</c>), never a file in the repo.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The address other silos reach this one at (and the address it listens on). Loopback by default: a cluster
    /// across machines must set it to the node's own address.
    /// </summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    public string ClusterId { get; set; } = "campus";

    public string ServiceId { get; set; } = "campus-telemetry";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>This node's name: the <c>node</c> label of its metrics and statistics. Default: host name and silo port.</summary>
    public string? NodeName { get; set; }

    /// <summary>The node name in use: <see cref="NodeName"/>, or the host name and silo port.</summary>
    public string EffectiveNodeName => string.IsNullOrWhiteSpace(NodeName) ? $"{Environment.MachineName}:{SiloPort}" : NodeName;

    /// <summary>
    /// Every mistake in these options, each naming its key (empty when they can run). The one check of the section:
    /// the silo is configured from the result only when this is empty.
    /// </summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!Enum.IsDefined(Clustering))
        {
            problems.Add("Orleans:Clustering must be Localhost or AdoNet");
        }

        if (Clustering == ClusteringMode.AdoNet && string.IsNullOrWhiteSpace(ConnectionString))
        {
            problems.Add("Orleans:ConnectionString must be set when Orleans:Clustering is AdoNet (give it through the environment: Orleans__ConnectionString)");
        }

        if (!IPAddress.TryParse(AdvertisedAddress, out var address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            problems.Add($"Orleans:AdvertisedAddress must be an IP address other silos can reach (not {AdvertisedAddress})");
        }

        if (SiloPort is < 1 or > 65535 || GatewayPort is < 1 or > 65535 || SiloPort == GatewayPort)
        {
            problems.Add("Orleans:SiloPort and Orleans:GatewayPort must be two different ports from 1 to 65535");
        }

        if (string.IsNullOrWhiteSpace(ClusterId) || string.IsNullOrWhiteSpace(ServiceId))
        {
            problems.Add("Orleans:ClusterId and Orleans:ServiceId must not be empty");
        }

        if (NodeName is { } name && (name.Length > 64 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))))
        {
            problems.Add("Orleans:NodeName may hold at most 64 letters, digits, '-', '_', '.' and ':'");
        }

        return problems;
    }
}
