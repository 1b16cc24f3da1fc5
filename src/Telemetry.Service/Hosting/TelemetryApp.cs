using Telemetry.Broker;
using Telemetry.Service.Api;
using Telemetry.Service.Cluster;
using Telemetry.Service.Health;
using Telemetry.Service.Security;
using Telemetry.Service.TechnicianConsole;
using Telemetry.Storage;

namespace Telemetry.Service.Hosting;

/// <summary>
/// The service, assembled. Hosted services start in the order they are added and stop in reverse: the write
/// pipeline starts first and stops last (draining), the silo next, then the grain feed, the MQTT broker last (and
/// stops first, so no message is taken that could not be written; the grain feed then feeds what is left and saves
/// its checkpoint while the silo and the spool still run).
/// </summary>
public static class TelemetryApp
{
    /// <param name="args">The command line (configuration keys as <c>--Section:Key=value</c>).</param>
    /// <param name="overrides">Registrations applied after the service's own (the last registration of a service wins), for tests.</param>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? overrides = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });

        builder.AddTelemetryApiSecurity();      // who may call the HTTP API ("Api"); refuses to start exposed without authentication
        builder.AddTelemetryApiProblems();      // every API error as application/problem+json
        builder.AddTelemetryOpenApi();          // the API's OpenAPI document
        builder.AddTelemetryLogging();          // Serilog, configured from the "Serilog" section
        builder.AddTelemetryMetrics();          // System.Diagnostics.Metrics → Prometheus at /metrics
        builder.Services.AddTelemetryStorage(); // write pipeline → InfluxDB ("Influx", "Writer")
        builder.AddTelemetryCampus();           // campus registry and options ("Campus")
        builder.AddTelemetrySilo();             // Orleans silo: one node or a PostgreSQL-backed cluster; where grain state lives ("Orleans")
        builder.AddTelemetryGrainFeed();        // the spool's readings fed to the sensor grains in batches ("Grains")
        builder.Services.AddTelemetryBroker();  // embedded MQTT broker ("Broker", "Ingest")
        builder.AddTelemetryAlerts();           // alert delivery over MQTT and webhooks, campus start, statistics ("Alerts")
        builder.AddTelemetryEscalation();       // re-notification and escalation of unacknowledged alerts ("Alerts:Escalation")
        builder.AddTelemetryReports();          // hourly and daily reports: late-reading marks to the report grain ("Reports")
        builder.AddTelemetryClusterView();      // each node reports itself to the cluster view; registry agreement
        builder.AddTelemetryHealth();           // /health/live, /health/ready

        overrides?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseTelemetryApiProblems();          // exceptions and bodiless errors (unknown route, wrong method, unreadable body) → problem+json
        app.UseTelemetryApiSecurity();          // API keys and bearer tokens; each endpoint names its role's policy
        app.MapTelemetryOpenApi();              // /openapi/v1.json (viewer)
        app.MapTelemetryHealth();               // anonymous: probes
        app.MapTelemetryMetrics();              // anonymous: Prometheus scraping
        app.MapSensorApi();
        app.MapCampusApi();
        app.MapAlertApi();
        app.MapAlertOutboxApi();                // delivery status of each alert destination
        app.MapRefusalApi();
        app.MapQuietWindowApi();
        app.MapRegistryApi();
        app.MapClusterApi();
        app.MapReportsApi();
        app.MapReportsAdminApi();
        app.MapTelemetryConsole();              // the technician console at /console (sign-in cookie, role technician)
        return app;
    }
}
