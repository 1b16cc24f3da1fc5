using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Service.Api;

namespace Telemetry.IntegrationTests.Api;

/// <summary>
/// The service's problem+json wiring (<see cref="ApiProblems"/>) on a bare Kestrel app on loopback, where an endpoint
/// can be made to throw: an unhandled exception is a 500 problem that does not show the exception.
/// </summary>
public sealed class ApiProblemsTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnUnhandledException_Is500ProblemJson_WithoutTheExceptionsText()
    {
        var url = $"http://127.0.0.1:{FreePort.Get()}";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" }); // Development would add the developer exception page
        builder.Logging.ClearProviders();
        builder.AddTelemetryApiProblems();
        await using var app = builder.Build();
        app.Urls.Add(url);
        app.UseTelemetryApiProblems();
        app.MapGet("/boom", IResult () => throw new InvalidOperationException("secret internals at Telemetry.Somewhere"));
        await app.StartAsync(Ct);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            using var response = await http.GetAsync(new Uri("/boom", UriKind.Relative), Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);

            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(body).RootElement;
            Assert.Equal(500, problem.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()), body);
            Assert.DoesNotContain("secret internals", body, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync(Ct);
        }
    }
}
