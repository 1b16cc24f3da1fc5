using System.Security.Claims;
using Telemetry.Domain.Ingest;

namespace Telemetry.Service.Security;

/// <summary>
/// Who is calling, as recorded on what they do (<c>acknowledgedBy</c>, <c>clearedBy</c>, the <c>by</c> field in InfluxDB).
/// </summary>
/// <param name="Open">True while the API runs without authentication (loopback, nothing configured).</param>
public sealed record ApiCaller(bool Open)
{
    /// <summary>The claim holding a caller's display name: an API key's name, or the token's own <c>name</c>.</summary>
    public const string NameClaim = "name";

    /// <summary>
    /// The name an action of <paramref name="user"/> is recorded under. Authenticated: the key's name, or the token's
    /// <c>name</c>, else <c>preferred_username</c>, else <c>sub</c>; the request body's <paramref name="by"/> is ignored,
    /// so nobody acts under another's name. Open API: <paramref name="by"/> as given (trimmed), null when it is blank.
    /// </summary>
    public string? NameOf(ClaimsPrincipal user, string? by)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (Open)
        {
            return string.IsNullOrWhiteSpace(by) ? null : by.Trim();
        }

        return Identity(user)
            ?? throw new InvalidOperationException("an authenticated caller without a name, preferred_username or sub claim reached an action");
    }

    /// <summary>
    /// The caller's name from its claims (<c>name</c>, else <c>preferred_username</c>, else <c>sub</c>), control
    /// characters made visible and cut at <see cref="MaxNameLength"/>; null when none is there (such a token is refused
    /// when it is validated).
    /// </summary>
    public static string? Identity(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var name = Claim(user, NameClaim) ?? Claim(user, "preferred_username") ?? Claim(user, "sub");
        return name is null ? null : Text.Visible(name.Length > MaxNameLength ? name[..MaxNameLength] : name);
    }

    /// <summary>Longest name recorded; a token's claims are the issuer's to choose, not ours.</summary>
    public const int MaxNameLength = 128;

    static string? Claim(ClaimsPrincipal user, string type) =>
        user.FindFirst(type)?.Value is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
}
