using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.IdentityModel.Tokens;
using Telemetry.Service.TechnicianConsole;

namespace Telemetry.Service.Security;

/// <summary>
/// Who may call the HTTP API: ASP.NET's authentication handlers (API keys, JWT bearer tokens) and one authorization
/// policy per role (<see cref="ApiRoles"/>), which every endpoint names. Configured from the <c>Api</c> section; see
/// docs/security.md.
/// </summary>
public static class ApiSecurity
{
    /// <summary>
    /// Checks the <c>Api</c> section and the start rule (<see cref="ApiExposure"/>) and registers authentication and
    /// authorization. Throws <see cref="InvalidOperationException"/> naming the keys when the section is wrong or the
    /// API would listen off loopback without authentication, so the service does not start.
    /// </summary>
    public static WebApplicationBuilder AddTelemetryApiSecurity(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(ApiOptions.SectionName).Get<ApiOptions>() ?? new ApiOptions();
        var problems = ApiSettings.Problems(options);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(
                $"The Api section has {problems.Count} error(s):{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", problems)}");
        }

        var secured = ApiSettings.AuthenticationConfigured(options);
        var listeners = ApiExposure.Listeners(builder.Configuration);
        if (ApiExposure.Refusal(listeners, secured) is { } refusal)
        {
            throw new InvalidOperationException(refusal);
        }

        if (ApiExposure.PlainHttpOffLoopback(listeners) is { Count: > 0 } plain)
        {
            builder.Services.AddHostedService(sp => new PlainHttpWarning(plain, sp.GetRequiredService<ILogger<PlainHttpWarning>>()));
        }

        builder.Services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName);
        builder.Services.AddSingleton(new ApiCaller(Open: !secured));
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();
        var authentication = builder.Services.AddAuthentication();
        List<string> schemes = [];
        if (secured)
        {
            builder.Services.AddSingleton<ApiKeyStore>();
            authentication.AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
            schemes.Add(ApiKeyAuthenticationHandler.SchemeName);
            if (options.Jwt.Enabled)
            {
                var signingKey = string.IsNullOrWhiteSpace(options.Jwt.SigningKeyFile)
                    ? null
                    : ApiSettings.LoadSigningKey(Path.GetFullPath(options.Jwt.SigningKeyFile, builder.Environment.ContentRootPath));
                authentication.AddJwtBearer(JwtBearerDefaults.AuthenticationScheme, bearer => ConfigureBearer(bearer, options.Jwt, signingKey));
                schemes.Add(JwtBearerDefaults.AuthenticationScheme);
            }

            // The technician console's sign-in cookie (TechnicianConsole/ConsoleAuthentication.cs), made from a key or token.
            authentication.AddConsoleCookie();
        }

        string[] headerSchemes = [.. schemes];
        string[] allSchemes = secured ? [.. schemes, ConsoleAuthentication.SchemeName] : [];

        builder.Services.AddAuthorization(authorization =>
        {
            foreach (var role in ApiRoles.All)
            {
                authorization.AddPolicy(role, policy =>
                {
                    if (secured)
                    {
                        policy.AddAuthenticationSchemes(allSchemes).RequireAuthenticatedUser().RequireRole(ApiRoles.Satisfying(role));
                    }
                    else
                    {
                        // The open API (loopback, nothing configured): every policy lets everyone in.
                        policy.RequireAssertion(_ => true);
                    }
                });
            }

            // The console: its pages take only the cookie; its sign-in only a key or token (never the cookie itself).
            authorization.AddPolicy(ConsoleAuthentication.PagePolicy, policy => ConsolePolicy(policy, [ConsoleAuthentication.SchemeName]));
            authorization.AddPolicy(ConsoleAuthentication.SignInPolicy, policy => ConsolePolicy(policy, headerSchemes));

            void ConsolePolicy(AuthorizationPolicyBuilder policy, string[] consoleSchemes)
            {
                if (secured)
                {
                    policy.AddAuthenticationSchemes(consoleSchemes).RequireAuthenticatedUser().RequireRole(ApiRoles.Satisfying(ApiRoles.Technician));
                }
                else
                {
                    policy.RequireAssertion(_ => true);
                }
            }

            // An endpoint that names no policy (one added later and forgotten) is for admins only, not open.
            if (secured)
            {
                authorization.FallbackPolicy = authorization.GetPolicy(ApiRoles.Admin);
            }
        });
        return builder;
    }

    /// <summary>Authentication and authorization in the request pipeline, before the endpoints.</summary>
    public static WebApplication UseTelemetryApiSecurity(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// Tokens must be signed by the issuer (keys from <c>Authority</c>'s discovery document, or the fixed key of
    /// <c>SigningKeyFile</c>), carry the configured audience and issuer, and be within their lifetime. Claim names stay
    /// as the token writes them (no mapping to .NET's long claim type URIs), so <c>RoleClaim</c> names a claim as
    /// the issuer spells it.
    /// </summary>
    static void ConfigureBearer(JwtBearerOptions bearer, JwtOptions jwt, SecurityKey? signingKey)
    {
        bearer.MapInboundClaims = false;
        bearer.Events = new JwtBearerEvents
        {
            // What a token does is recorded under its name: a token that names nobody is not accepted.
            OnTokenValidated = context =>
            {
                if (context.Principal is null || ApiCaller.Identity(context.Principal) is null)
                {
                    context.Fail("the token has no name, preferred_username or sub claim");
                }

                return Task.CompletedTask;
            },
        };
        bearer.Audience = jwt.Audience;
        bearer.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = string.IsNullOrWhiteSpace(jwt.Issuer) ? null : jwt.Issuer,
            ValidateAudience = true,
            ValidAudience = jwt.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = jwt.ClockSkew,
            NameClaimType = ApiCaller.NameClaim,
            RoleClaimType = jwt.RoleClaim,
        };
        if (signingKey is null)
        {
            bearer.Authority = jwt.Authority;
            bearer.RequireHttpsMetadata = true;
        }
        else
        {
            bearer.TokenValidationParameters.IssuerSigningKey = signingKey;
        }
    }
}

/// <summary>Says once, at start, that API credentials would cross the network in clear.</summary>
sealed class PlainHttpWarning(IReadOnlyList<ApiListener> plain, ILogger<PlainHttpWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        logger.LogWarning(
            "The HTTP API listens without TLS on {Listeners}: API keys and bearer tokens sent there cross the network in clear. "
            + "Serve HTTPS (Kestrel:Endpoints:Https with Certificate:Path and KeyPath) or keep a TLS proxy in front (docs/security.md)",
            string.Join(", ", plain.Select(l => $"{l.Url} ({l.Source})")));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
