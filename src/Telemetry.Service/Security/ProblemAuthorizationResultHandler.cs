using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Net.Http.Headers;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Service.TechnicianConsole;

namespace Telemetry.Service.Security;

/// <summary>
/// Answers a refused request as <c>application/problem+json</c> (401: no or unaccepted credentials, with the
/// schemes' <c>WWW-Authenticate</c> headers; 403: authenticated, but the role does not allow it), counts it in
/// <c>telemetry_api_requests_refused_total{reason}</c> and logs it, at most one line per reason every 10 s.
/// ASP.NET's own handler does the challenge and forbid; this adds the body, the count and the log.
/// </summary>
public sealed class ProblemAuthorizationResultHandler(TelemetryMetrics metrics, TimeProvider time, ILogger<ProblemAuthorizationResultHandler> logger)
    : IAuthorizationMiddlewareResultHandler
{
    readonly AuthorizationMiddlewareResultHandler inner = new();
    readonly LogThrottle throttle = new(TimeSpan.FromSeconds(10), time, maxKeys: 16);

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(authorizeResult);
        if (!authorizeResult.Challenged && !authorizeResult.Forbidden)
        {
            await inner.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        await inner.HandleAsync(next, context, policy, authorizeResult);
        var (reason, title, detail) = authorizeResult.Forbidden
            ? ("forbidden", "Forbidden", $"{context.User.Identity?.Name ?? "the caller"} is authenticated, but their role does not allow {context.Request.Method} {context.Request.Path}")
            : Unauthenticated(context.Request);
        metrics.ApiRequestsRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));
        if (throttle.ShouldLog(reason, out var suppressed))
        {
            logger.LogWarning("HTTP API request refused ({Reason}): {Method} {Path} from {Remote}{Suppressed}",
                reason, context.Request.Method, Text.ForLog(context.Request.Path.Value), context.Connection.RemoteIpAddress,
                suppressed > 0 ? $" ({suppressed} more refused for this reason since the last line)" : "");
        }

        // A console page's challenge is a redirect to the sign-in (TechnicianConsole), not an error body.
        if (!context.Response.HasStarted && context.Response.StatusCode >= StatusCodes.Status400BadRequest)
        {
            await Results.Problem(detail, statusCode: context.Response.StatusCode, title: title).ExecuteAsync(context);
        }
    }

    static (string Reason, string Title, string Detail) Unauthenticated(HttpRequest request)
    {
        var headers = request.Headers;
        if (ApiKeyAuthenticationHandler.Presented(headers) is not null)
        {
            return ("invalid_api_key", "Unauthorized", "the API key is not one this service knows (revoked, mistyped or cut off)");
        }

        if (headers[HeaderNames.Authorization].Any(v => v?.StartsWith(JwtBearerDefaults.AuthenticationScheme + " ", StringComparison.OrdinalIgnoreCase) == true))
        {
            return ("invalid_token", "Unauthorized", "the bearer token was not accepted (expired, not yet valid, wrongly signed, or for another audience or issuer); the WWW-Authenticate header says more");
        }

        if (ConsoleAuthentication.HasCookie(request))
        {
            return HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || ConsoleAuthentication.HasConsoleHeader(headers)
                ? ("console_session_ended", "Unauthorized", "the console sign-in has ended (expired, signed out, or its API key was removed or changed): sign in again at " + ConsoleAuthentication.SignInPath)
                : ("console_header_missing", "Unauthorized", $"a change made with the console's sign-in cookie must carry the header {ConsoleAuthentication.HeaderName}: 1");
        }

        return ("no_credentials", "Unauthorized",
            $"this endpoint needs an API key (Authorization: ApiKey <key> or {ApiKeyAuthenticationHandler.HeaderName}: <key>) or a bearer token (Authorization: Bearer <token>)");
    }
}
