namespace Telemetry.Domain.Campus;

/// <summary>
/// Where the current campus registry comes from. <see cref="Current"/> is always a complete, validated registry; a
/// reload replaces it as a whole. Readers take <see cref="Current"/> when they need it (each message, the campus
/// grain's tick), so a reload reaches them without a notification.
/// </summary>
public interface ICampusRegistrySource
{
    CampusRegistry Current { get; }
}

/// <summary>A registry that never changes (no registry file configured, or tests).</summary>
public sealed class FixedCampusRegistrySource(CampusRegistry registry) : ICampusRegistrySource
{
    public CampusRegistry Current { get; } = registry ?? throw new ArgumentNullException(nameof(registry));
}
