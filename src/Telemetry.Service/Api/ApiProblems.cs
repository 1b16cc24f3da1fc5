using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;

namespace Telemetry.Service.Api;

/// <summary>
/// Every error of the HTTP API is <c>application/problem+json</c> (RFC 9457) with <c>type</c>, <c>title</c>,
/// <c>status</c> (and <c>detail</c> where the endpoint says what was wrong): ASP.NET's problem details service,
/// its exception handler (an unhandled exception is a 500 problem without the stack trace, which goes to the log) and
/// its status code pages (an error answered without a body — unknown route 404, wrong method 405, a request body
/// that is not the JSON the endpoint reads 400 — gets a problem body). 401 and 403 come with their bodies from
/// <see cref="Security.ProblemAuthorizationResultHandler"/>.
/// </summary>
public static class ApiProblems
{
    public static WebApplicationBuilder AddTelemetryApiProblems(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddProblemDetails();
        // A request an endpoint cannot read (malformed JSON, a missing body) throws instead of answering an empty 400,
        // so that BadRequestProblems can say what was wrong.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.AddExceptionHandler<BadRequestProblems>();
        return builder;
    }

    /// <summary>The exception handler and status code pages, outermost in the pipeline (before authentication).</summary>
    public static WebApplication UseTelemetryApiProblems(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }
}

/// <summary>
/// A request an endpoint could not read is the caller's mistake: 400 (or the status ASP.NET chose, e.g. 415) with a
/// detail saying what was wrong — where the JSON broke, not the body itself — instead of a 500, and not logged as an
/// error (handled exceptions are not, since .NET 10).
/// </summary>
sealed class BadRequestProblems(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        httpContext.Response.StatusCode = bad.StatusCode;
        var request = httpContext.Request;
        var detail = bad switch
        {
            { InnerException: JsonException json } =>
                $"the request body is not JSON of the shape this endpoint reads (at {json.Path ?? "$"}, line {json.LineNumber + 1}, byte {json.BytePositionInLine + 1})",
            { StatusCode: StatusCodes.Status415UnsupportedMediaType } => "the request body must be JSON (Content-Type: application/json)",
            _ when httpContext.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>() is not null
                && (request.ContentLength is 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count == 0)) =>
                "the request has no body; this endpoint reads a JSON object (docs/api.md)",
            _ => bad.Message,
        };
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = bad.StatusCode, Detail = detail },
        });
    }
}
