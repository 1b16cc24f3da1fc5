namespace Telemetry.Service.Security;

/// <summary>
/// The three roles of the HTTP API and the authorization policy of each. Roles nest: a technician may do what a viewer
/// may, an admin what a technician may.
/// </summary>
public static class ApiRoles
{
    /// <summary>Reads: campus, buildings, rooms, sensors, alerts, refusals.</summary>
    public const string Viewer = "viewer";

    /// <summary>Acknowledges and clears alerts.</summary>
    public const string Technician = "technician";

    /// <summary>Administrative actions: registry reload (and device administration as it is added).</summary>
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Viewer, Technician, Admin];

    /// <summary>The roles that satisfy <paramref name="role"/>'s policy: the role and every role above it.</summary>
    public static IReadOnlyList<string> Satisfying(string role) => role switch
    {
        Viewer => [Viewer, Technician, Admin],
        Technician => [Technician, Admin],
        Admin => [Admin],
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "not an API role"),
    };

    /// <summary>True for one of <see cref="All"/> (exact spelling: role names are compared as written in tokens).</summary>
    public static bool IsRole(string? role) => role is Viewer or Technician or Admin;
}
