using Telemetry.Service.Registry;
using Telemetry.Service.Security;

namespace Telemetry.Service.Api;

/// <summary>
/// <c>POST /api/registry/reload</c> (role admin): reads the campus registry file now instead of at the next poll.
/// 200 with the outcome (<c>reloaded</c> or <c>unchanged</c>) and the registry in force; 422 with the errors when the
/// file is refused (the previous registry stays in force); 404 when the service runs without a registry file.
/// </summary>
public static class RegistryApi
{
    public static WebApplication MapRegistryApi(this WebApplication app)
    {
        app.MapPost("/api/registry/reload", (IServiceProvider services) =>
        {
            if (services.GetService<CampusRegistryFile>() is not { } file)
            {
                return Results.Problem("the service runs without a registry file (Campus:RegistryPath is empty)", statusCode: StatusCodes.Status404NotFound);
            }

            var reload = file.ReloadNow();
            var registry = reload.InForce;
            var inForce = new
            {
                campus = registry.Campus.Id,
                buildings = registry.Buildings.Count,
                rooms = registry.Buildings.Sum(b => b.Rooms.Count),
                sensors = registry.Sensors.Count(),
            };
            return reload.Outcome switch
            {
                RegistryReloadOutcome.Reloaded or RegistryReloadOutcome.Unchanged =>
                    Results.Ok(new { outcome = reload.Outcome.ToString().ToLowerInvariant(), path = file.Path, inForce }),
                RegistryReloadOutcome.Refused => Results.Problem(
                    $"{file.Path} has {reload.Errors.Count} error(s); the previous registry stays in force",
                    statusCode: StatusCodes.Status422UnprocessableEntity,
                    extensions: new Dictionary<string, object?> { ["errors"] = reload.Errors.Select(e => e.ToString()).ToList(), ["inForce"] = inForce }),
                _ => Results.Problem($"{reload.Problem}; the registry in force stays", statusCode: StatusCodes.Status503ServiceUnavailable),
            };
        })
        .WithName("ReloadRegistry")
        .WithSummary("Reloads the campus registry file")
        .Produces(StatusCodes.Status200OK, contentType: "application/json")
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
        .RequireAuthorization(ApiRoles.Admin);
        return app;
    }
}
