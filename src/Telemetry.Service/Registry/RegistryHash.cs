using Telemetry.Domain.Campus;

namespace Telemetry.Service.Registry;

/// <summary>The identity of the registry in force on this node, as the nodes of a cluster compare it.</summary>
public static class RegistryHash
{
    /// <summary>What a node without a registry file reports (every sensor unregistered).</summary>
    public const string None = "none";

    /// <summary><see cref="CampusRegistryFile.Hash"/>, or <see cref="None"/> when the service runs without a registry file.</summary>
    public static string Of(ICampusRegistrySource source) => source is CampusRegistryFile file ? file.Hash : None;
}
