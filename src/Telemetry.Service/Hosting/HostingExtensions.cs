using OpenTelemetry.Metrics;
using Serilog;
using Telemetry.Domain.Observability;

namespace Telemetry.Service.Hosting;

public static class HostingExtensions
{
    public static WebApplicationBuilder AddTelemetryLogging(this WebApplicationBuilder builder)
    {
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext());
        return builder;
    }

    public static WebApplicationBuilder AddTelemetryMetrics(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<TelemetryMetrics>();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(TelemetryMetrics.MeterName)
            .AddPrometheusExporter());
        return builder;
    }

    public static WebApplication MapTelemetryMetrics(this WebApplication app)
    {
        // Anonymous, like every Prometheus target by default: numbers about the service, no readings, no actions (docs/security.md).
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        return app;
    }
}
