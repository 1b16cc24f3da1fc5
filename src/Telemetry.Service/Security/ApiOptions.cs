namespace Telemetry.Service.Security;

/// <summary>
/// Who may call the HTTP API (configuration section <c>Api</c>). Nothing configured and every listening address on
/// loopback: the API is open (the local demo). Any address off loopback: at least one API key or the JWT issuer must be
/// configured, or the service refuses to start (<see cref="ApiExposure"/>).
/// <code>
/// "Api": {
///   "Keys": [ { "Name": "grafana", "Role": "viewer", "Hash": "sha256:…" } ],
///   "Jwt": { "Authority": "https://login.example.edu/realms/campus", "Audience": "campus-telemetry", "RoleClaim": "roles" }
/// }
/// </code>
/// </summary>
public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>
    /// API keys, stored as hashes (<c>sha256:&lt;64 hex digits&gt;</c>, made by <c>Telemetry.Service api-key new</c>).
    /// Read again when a JSON configuration file changes (appsettings.json); environment variables need a restart.
    /// </summary>
    public IList<ApiKeyOptions> Keys { get; } = [];

    /// <summary>OIDC/JWT bearer tokens; off while neither <see cref="JwtOptions.Authority"/> nor <see cref="JwtOptions.SigningKeyFile"/> is set.</summary>
    public JwtOptions Jwt { get; set; } = new();
}

/// <summary>One API key: who it is (the name recorded as <c>acknowledgedBy</c>), its role and the hash of the key.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The caller's name: recorded on acknowledgements and clears, and in log lines. Unique.</summary>
    public string? Name { get; set; }

    /// <summary><c>viewer</c>, <c>technician</c> or <c>admin</c> (<see cref="ApiRoles"/>).</summary>
    public string? Role { get; set; }

    /// <summary><c>sha256:&lt;64 lowercase hex digits&gt;</c> of the key (<see cref="ApiKeys.Hash"/>). Never the key itself.</summary>
    public string? Hash { get; set; }
}

/// <summary>Bearer tokens issued by an OpenID Connect provider (Keycloak, Entra ID, Authentik, …), checked by ASP.NET's JWT handler.</summary>
public sealed class JwtOptions
{
    /// <summary>
    /// The issuer's base URL (https); its signing keys are fetched from <c>{Authority}/.well-known/openid-configuration</c>
    /// (JWKS) and refreshed as it rotates them. The production path.
    /// </summary>
    public string? Authority { get; set; }

    /// <summary>The <c>aud</c> tokens must carry (required once JWT is on).</summary>
    public string? Audience { get; set; }

    /// <summary>The claim holding the roles (a string or an array of strings): <c>viewer</c>, <c>technician</c>, <c>admin</c>. Default <c>roles</c>.</summary>
    public string RoleClaim { get; set; } = "roles";

    /// <summary>
    /// Instead of <see cref="Authority"/>: a PEM file with the issuer's public key (RSA or EC), for an issuer without
    /// discovery (and for tests). Requires <see cref="Issuer"/>. Read at start.
    /// </summary>
    public string? SigningKeyFile { get; set; }

    /// <summary>The <c>iss</c> tokens must carry: required with <see cref="SigningKeyFile"/>; with <see cref="Authority"/> the discovered issuer is used when empty.</summary>
    public string? Issuer { get; set; }

    /// <summary>Tolerance for clock differences when checking <c>exp</c> and <c>nbf</c>. Default 1 minute.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>True when tokens are accepted at all.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(SigningKeyFile);
}
