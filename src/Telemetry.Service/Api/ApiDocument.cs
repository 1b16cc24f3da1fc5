using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Telemetry.Service.Security;

namespace Telemetry.Service.Api;

/// <summary>
/// The OpenAPI document of the HTTP API (ASP.NET's own generator, <c>Microsoft.AspNetCore.OpenApi</c>), served at
/// <see cref="Path"/> to the viewer role: whoever may read the API may read its description (it lists the
/// endpoints and their roles, nothing secret), and a person without a key learns nothing from it they could use.
/// With authentication configured it describes the schemes (the <c>X-Api-Key</c> header, and bearer tokens when
/// <c>Api:Jwt</c> is set); each operation's description names the role it needs.
/// </summary>
public static class ApiDocument
{
    public const string Path = "/openapi/v1.json";

    public static WebApplicationBuilder AddTelemetryOpenApi(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, context, _) =>
            {
                document.Info.Title = "Campus Telemetry HTTP API";
                document.Info.Description = "Campus, sensors, alerts, quiet windows, reports and administration. Errors are "
                    + "application/problem+json; list endpoints are paginated with limit and after, the next page in the Link header. See docs/api.md.";
                var caller = context.ApplicationServices.GetRequiredService<ApiCaller>();
                if (caller.Open)
                {
                    return Task.CompletedTask;
                }

                var jwt = context.ApplicationServices.GetRequiredService<IOptions<ApiOptions>>().Value.Jwt.Enabled;
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
                document.Components.SecuritySchemes[ApiKeyAuthenticationHandler.SchemeName] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = ApiKeyAuthenticationHandler.HeaderName,
                    Description = "An API key (docs/security.md); also accepted as 'Authorization: ApiKey <key>'.",
                };
                document.Security ??= [];
                document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, document)] = [] });
                if (jwt)
                {
                    document.Components.SecuritySchemes["Bearer"] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.Http,
                        Scheme = "bearer",
                        BearerFormat = "JWT",
                        Description = "A token of the configured issuer (Api:Jwt); its role claim names the role.",
                    };
                    document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = [] });
                }

                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                var role = metadata.OfType<IAllowAnonymous>().Any()
                    ? "anonymous"
                    : metadata.OfType<IAuthorizeData>().Select(a => a.Policy).LastOrDefault(p => p is not null) ?? ApiRoles.Admin;
                operation.Description = $"{operation.Description}{(operation.Description is null ? "" : " ")}Role: {role}.";
                return Task.CompletedTask;
            });
        });
        return builder;
    }

    /// <summary><c>GET /openapi/v1.json</c>, role viewer.</summary>
    public static WebApplication MapTelemetryOpenApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapOpenApi().RequireAuthorization(ApiRoles.Viewer); // the default pattern, /openapi/{documentName}.json: Path
        return app;
    }
}
