using Telemetry.Domain.Campus;

namespace Telemetry.DeviceSim.Campus;

/// <summary>Reads the campus registry file a scenario names, with the service's own loader (same format, same checks).</summary>
public static class RegistryFile
{
    /// <summary>Loads and validates a registry file (docs/registry.md); every error is listed with its line.</summary>
    public static CampusRegistry LoadRegistry(string path)
    {
        var result = CampusRegistryLoader.Load(File.ReadAllText(path), path);
        return result.Registry ?? throw new InvalidDataException(
            $"the campus registry {path} is not valid:{Environment.NewLine}" + string.Join(Environment.NewLine, result.Errors));
    }
}
