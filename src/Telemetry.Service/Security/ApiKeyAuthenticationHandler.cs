using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Telemetry.Service.Security;

/// <summary>
/// Authenticates a request by an API key sent as <c>Authorization: ApiKey &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c>:
/// the caller is the key's name, in the key's role. No key: no result (another scheme, or the 401, decides).
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Presented(Request.Headers);
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (keys.Current.Find(presented) is not { } key)
        {
            return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
        }

        var identity = new ClaimsIdentity(
            [new Claim(ApiCaller.NameClaim, key.Name), new Claim(ClaimTypes.Role, key.Role), new Claim("auth_method", SchemeName)],
            SchemeName, ApiCaller.NameClaim, ClaimTypes.Role);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.Append(HeaderNames.WWWAuthenticate, SchemeName);
        return Task.CompletedTask;
    }

    /// <summary>The key the request carries (the <c>Authorization: ApiKey</c> header first), or null.</summary>
    public static string? Presented(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        foreach (var value in headers.Authorization)
        {
            if (value is { } v && v.StartsWith(SchemeName + " ", StringComparison.OrdinalIgnoreCase))
            {
                return v[(SchemeName.Length + 1)..].Trim();
            }
        }

        return headers[HeaderName] is { Count: 1 } single ? single[0]?.Trim() : null;
    }
}
