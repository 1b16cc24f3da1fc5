using System.Globalization;

namespace Telemetry.Domain.Campus;

/// <summary>
/// One problem found in a registry file. <paramref name="Line"/> and <paramref name="Column"/> are 1-based and point at
/// the offending node (for a missing key: at the mapping that lacks it).
/// </summary>
public sealed record RegistryError(string Source, int Line, int Column, string Message)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Source}:{Line}:{Column}: {Message}");
}

/// <summary>
/// The outcome of <see cref="CampusRegistryLoader.Load"/>: either a registry and no errors, or every error found and no
/// registry.
/// </summary>
public sealed class CampusRegistryLoadResult
{
    public CampusRegistryLoadResult(CampusRegistry? registry, IReadOnlyList<RegistryError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        Registry = errors.Count == 0 ? registry : null;
        Errors = errors;
    }

    public CampusRegistry? Registry { get; }

    public IReadOnlyList<RegistryError> Errors { get; }

    public bool Succeeded => Registry is not null && Errors.Count == 0;
}
