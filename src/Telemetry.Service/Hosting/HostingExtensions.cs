using OpenTelemetry.Metrics;
using Orleans.Configuration;
using Serilog;
using Telemetry.Domain.Observability;

namespace Telemetry.Service.Hosting;

/// <summary>
/// Orleans silo options (configuration section <c>Orleans</c>):
/// <code>
/// "Orleans": { "ClusterId": "campus", "ServiceId": "campus-telemetry", "SiloPort": 11111, "GatewayPort": 30000 }
/// </code>
/// </summary>
public sealed class SiloOptions
{
    public const string SectionName = "Orleans";

    public string ClusterId { get; set; } = "campus";

    public string ServiceId { get; set; } = "campus-telemetry";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;
}

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

    /// <summary>One silo; localhost clustering (in-memory membership) on loopback ports.</summary>
    public static WebApplicationBuilder AddTelemetrySilo(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(SiloOptions.SectionName).Get<SiloOptions>() ?? new SiloOptions();
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(options.SiloPort, options.GatewayPort, null, options.ServiceId, options.ClusterId)
            .Configure<SiloMessagingOptions>(messaging => messaging.ResponseTimeout = TimeSpan.FromSeconds(30)));
        return builder;
    }

    public static WebApplication MapTelemetryMetrics(this WebApplication app)
    {
        // Anonymous, like every Prometheus target by default: numbers about the service, no readings, no actions (docs/security.md).
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        return app;
    }
}
