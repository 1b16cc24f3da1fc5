using Telemetry.Domain.Campus;

namespace Telemetry.DeviceSim.Campus;

/// <summary>Reads the campus registry file a scenario names.</summary>
public static class RegistryFile
{
    /// <summary>
    /// Loads and validates a registry file (the format of docs/registry.md).
    /// INTEGRATION POINT: replace the body with the call to <c>CampusRegistryLoader.Load(File.ReadAllText(path), path)</c>
    /// and throw an <see cref="InvalidDataException"/> listing <c>.Errors</c> when there are any.
    /// </summary>
    public static CampusRegistry LoadRegistry(string path) =>
        throw new NotSupportedException("registry file loading arrives with CampusRegistryLoader");
}
