namespace Telemetry.Domain.Campus;

/// <summary>
/// Where the current campus registry comes from. <see cref="Current"/> is always a complete, validated registry;
/// <see cref="Changed"/> fires after <see cref="Current"/> has been replaced by a newer valid one.
/// </summary>
public interface ICampusRegistrySource
{
    CampusRegistry Current { get; }

    event Action<CampusRegistry>? Changed;
}

/// <summary>A registry that never changes (no registry file configured, or tests).</summary>
public sealed class FixedCampusRegistrySource(CampusRegistry registry) : ICampusRegistrySource
{
    public CampusRegistry Current { get; } = registry ?? throw new ArgumentNullException(nameof(registry));

    // Never raised: a fixed registry has nothing to announce.
    public event Action<CampusRegistry>? Changed
    {
        add { }
        remove { }
    }
}
