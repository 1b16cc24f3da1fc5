using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Serilog;
using Telemetry.Domain.Observability;
using Telemetry.Service.Cluster;
using Telemetry.Service.Observability;

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
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddDetector(sp => new NodeLabel(sp.GetRequiredService<IOptions<SiloOptions>>())))
            .WithMetrics(metrics => metrics
                .AddMeter(TelemetryMetrics.MeterName)
                .AddPrometheusExporter(o => o.ResourceConstantLabels = key => key == NodeLabel.Key)); // node="<Orleans:NodeName>" on every series
        return builder;
    }

    public static WebApplication MapTelemetryMetrics(this WebApplication app)
    {
        // Anonymous, like every Prometheus target by default: numbers about the service, no readings, no actions (docs/security.md).
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        return app;
    }
}
