using Microsoft.AspNetCore.Http.Features;

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
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            // A request the endpoint could not read (malformed JSON, a body of the wrong shape): say so, without
            // echoing the body.
            if (context.ProblemDetails.Status == StatusCodes.Status400BadRequest
                && context.ProblemDetails.Detail is null
                && context.HttpContext.Features.Get<IBadRequestExceptionFeature>()?.Error is BadHttpRequestException bad)
            {
                context.ProblemDetails.Detail = bad.InnerException is System.Text.Json.JsonException
                    ? "the request body is not valid JSON of the shape this endpoint reads"
                    : bad.Message;
            }
        });
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
