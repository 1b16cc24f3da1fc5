namespace Telemetry.Grains.Persistence;

/// <summary>The name of the grain storage provider the campus grains persist their state with.</summary>
public static class GrainStorage
{
    public const string Name = "campus";
}
