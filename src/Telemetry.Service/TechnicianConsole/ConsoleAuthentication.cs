using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Telemetry.Service.Security;

namespace Telemetry.Service.TechnicianConsole;

/// <summary>
/// The console's sign-in: a person presents an API key or a bearer token once (validated by the API's own
/// handlers: <see cref="ApiKeyAuthenticationHandler"/>, JWT bearer), and gets ASP.NET's cookie authentication carrying
/// the same name and role. The cookie is one more scheme of the role policies, so the console's <c>fetch</c> calls
/// reach the same API endpoints, and an acknowledgement is recorded under the signed-in name (<see cref="ApiCaller"/>).
/// Cookie: HttpOnly, SameSite=Strict, Secure when the request was HTTPS. A request that changes something (any
/// method but GET/HEAD) is only authenticated by the cookie when it also carries <c>X-Console: 1</c>, which a page
/// of another site cannot send without a CORS preflight this service never grants (defence in depth beside SameSite).
/// </summary>
public static class ConsoleAuthentication
{
    /// <summary>The cookie authentication scheme.</summary>
    public const string SchemeName = "Console";

    /// <summary>The cookie's name.</summary>
    public const string CookieName = "campus-console";

    /// <summary>The header every state-changing console request carries (value <c>1</c>).</summary>
    public const string HeaderName = "X-Console";

    /// <summary>Policy of the console's pages: signed in by the cookie, role technician or admin.</summary>
    public const string PagePolicy = "console";

    /// <summary>Policy of the sign-in itself: an API key or bearer token (not the cookie) of a technician or admin.</summary>
    public const string SignInPolicy = "console-sign-in";

    /// <summary>Where a person without a valid cookie is sent.</summary>
    public const string SignInPath = "/console/sign-in";

    /// <summary>How long a sign-in lasts without use (sliding); a bearer token's own expiry ends it earlier.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    const string MethodClaim = "auth_method";

    /// <summary>Adds the cookie scheme (only when the API is secured: the open API needs no sign-in).</summary>
    public static AuthenticationBuilder AddConsoleCookie(this AuthenticationBuilder authentication)
    {
        ArgumentNullException.ThrowIfNull(authentication);
        return authentication.AddCookie(SchemeName, cookie =>
        {
            cookie.Cookie.Name = CookieName;
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.Cookie.Path = "/";
            cookie.ExpireTimeSpan = SessionLifetime;
            cookie.SlidingExpiration = true;
            cookie.LoginPath = SignInPath;
            cookie.ReturnUrlParameter = "returnUrl";
            cookie.Events = new CookieAuthenticationEvents
            {
                OnValidatePrincipal = Validate,
                // Only a console page is redirected to the sign-in; the API answers 401 (with the other schemes'
                // WWW-Authenticate) and 403, as it does for keys and tokens.
                OnRedirectToLogin = context =>
                {
                    if (IsPage(context.Request))
                    {
                        context.Response.Redirect(context.RedirectUri);
                    }
                    else
                    {
                        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    }

                    return Task.CompletedTask;
                },
                OnRedirectToAccessDenied = context =>
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                },
            };
        });
    }

    /// <summary>
    /// Each request with the cookie: refused when it changes something without <see cref="HeaderName"/>, and when the
    /// API key it was signed in with has been removed or given another role since (the key's name and role are in the
    /// cookie; the key itself never is).
    /// </summary>
    static Task Validate(CookieValidatePrincipalContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HasConsoleHeader(request.Headers))
        {
            context.RejectPrincipal();
            return Task.CompletedTask;
        }

        var principal = context.Principal;
        if (principal?.FindFirst(MethodClaim)?.Value == ApiKeyAuthenticationHandler.SchemeName)
        {
            var keys = context.HttpContext.RequestServices.GetRequiredService<ApiKeyStore>().Current;
            var name = principal.FindFirst(ApiCaller.NameClaim)?.Value;
            var role = principal.FindFirst(ClaimTypes.Role)?.Value;
            if (name is null || role is null || !keys.Has(name, role))
            {
                context.RejectPrincipal();
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>True when the request carries <c>X-Console: 1</c>.</summary>
    public static bool HasConsoleHeader(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return headers[HeaderName] is { Count: 1 } value && value[0] == "1";
    }

    /// <summary>True for the cookie of this scheme on the request (whether or not it is still valid).</summary>
    public static bool HasCookie(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Cookies.ContainsKey(CookieName);
    }

    /// <summary>A console page (HTML) a browser navigates to; the console's JSON (<c>/console/session</c>) answers 401 like the API.</summary>
    static bool IsPage(HttpRequest request) =>
        HttpMethods.IsGet(request.Method)
        && request.Path.StartsWithSegments("/console", StringComparison.Ordinal)
        && !request.Path.StartsWithSegments(ConsoleEndpoints.SessionPath, StringComparison.Ordinal);

    /// <summary>
    /// The cookie's identity for a caller authenticated by an API key or a bearer token: the name
    /// <see cref="ApiCaller.Identity"/> records, the API roles the caller holds, and how they signed in.
    /// </summary>
    public static ClaimsPrincipal SessionOf(ClaimsPrincipal caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var name = ApiCaller.Identity(caller) ?? throw new InvalidOperationException("a caller without a name reached the console sign-in");
        var method = caller.FindFirst(MethodClaim)?.Value ?? JwtBearerDefaults.AuthenticationScheme;
        List<Claim> claims = [new(ApiCaller.NameClaim, name), new(MethodClaim, method)];
        claims.AddRange(ApiRoles.All.Where(caller.IsInRole).Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, ApiCaller.NameClaim, ClaimTypes.Role));
    }

    /// <summary>When the session must end: a bearer token's <c>exp</c> when it comes before <see cref="SessionLifetime"/>.</summary>
    public static DateTimeOffset ExpiresAt(ClaimsPrincipal caller, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var end = now + SessionLifetime;
        if (caller.FindFirst("exp")?.Value is { } exp && long.TryParse(exp, out var seconds))
        {
            var tokenEnd = DateTimeOffset.FromUnixTimeSeconds(seconds);
            return tokenEnd < end ? tokenEnd : end;
        }

        return end;
    }
}
