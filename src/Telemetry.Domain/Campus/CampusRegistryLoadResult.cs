using Telemetry.Domain.Configuration;

namespace Telemetry.Domain.Campus;

/// <summary>
/// The outcome of <see cref="CampusRegistryLoader.Load"/>: either a registry and no errors, or every error found and no
/// registry.
/// </summary>
public sealed class CampusRegistryLoadResult
{
    public CampusRegistryLoadResult(CampusRegistry? registry, IReadOnlyList<YamlError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        Registry = errors.Count == 0 ? registry : null;
        Errors = errors;
    }

    public CampusRegistry? Registry { get; }

    public IReadOnlyList<YamlError> Errors { get; }

    public bool Succeeded => Registry is not null && Errors.Count == 0;
}
