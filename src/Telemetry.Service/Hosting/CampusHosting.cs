using Microsoft.Extensions.Options;
using Orleans.Runtime.Hosting;
using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Observability;
using Telemetry.Grains;
using Telemetry.Grains.Alerts;
using Telemetry.Grains.Alerts.Delivery;
using Telemetry.Grains.Persistence;
using Telemetry.Service.Alerts;
using Telemetry.Service.Observability;
using Telemetry.Service.Registry;

namespace Telemetry.Service.Hosting;

/// <summary>The campus model: registry, grain state, alert delivery, the campus start and the service's own statistics.</summary>
public static class CampusHosting
{
    /// <summary>Registry and campus options; before the silo, whose grains need them (where grain state lives: Cluster/ClusterHosting.cs).</summary>
    public static WebApplicationBuilder AddTelemetryCampus(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<CampusOptions>().BindConfiguration(CampusOptions.SectionName)
            .Validate(o => o.StateInterval > TimeSpan.Zero && o.DeviceStatusInterval > TimeSpan.Zero && o.RollupIdleFlush > TimeSpan.Zero,
                "Campus:StateInterval, Campus:DeviceStatusInterval and Campus:RollupIdleFlush must be longer than zero")
            .Validate(o => o.RollupWindow >= TimeSpan.FromSeconds(1) && o.RollupLateness >= TimeSpan.Zero,
                "Campus:RollupWindow must be at least 1 s and Campus:RollupLateness not negative")
            .Validate(o => o.AlertFlapThreshold >= 0 && o.AlertFlapWindow > TimeSpan.Zero && o.RecentAlerts > 0,
                "Campus:AlertFlapThreshold must not be negative (0 turns the guard off), Campus:AlertFlapWindow must be longer than zero, Campus:RecentAlerts at least 1")
            .Validate(o => !string.IsNullOrWhiteSpace(o.StatePath), "Campus:StatePath must name a folder")
            .ValidateOnStart();
        builder.Services.AddCampusRegistry(builder.Configuration);
        builder.Services.AddSingleton<AlertEngineProblems>();
        return builder;
    }

    /// <summary>Alert delivery, the campus start and statistics; after the broker, which they publish through.</summary>
    public static WebApplicationBuilder AddTelemetryAlerts(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AlertOptions>().BindConfiguration(AlertOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AlertOptions>, AlertOptionsValidator>();
        // The broker refuses device PUBLISHes under the alert root and gates subscriptions to it (docs/security.md).
        builder.Services.AddSingleton(sp => new Telemetry.Broker.Identity.ProtectedTopics(sp.GetRequiredService<IOptions<AlertOptions>>().Value.MqttTopicRoot));
        builder.Services.AddSingleton<AlertNotifier>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AlertNotifier>());

        // Durable delivery (docs/alerts.md, "Delivery"): one destination per webhook entry, each with its outbox grain.
        builder.Services.AddHttpClient(WebhookDestination.HttpClientName);
        var webhooks = builder.Configuration.GetSection($"{AlertOptions.SectionName}:{nameof(AlertOptions.Webhooks)}").GetChildren().Count();
        for (var i = 0; i < webhooks; i++)
        {
            var n = i;
            builder.Services.AddSingleton<IAlertDestination>(sp => new WebhookDestination(
                sp.GetRequiredService<IOptions<AlertOptions>>().Value.Webhooks[n], sp.GetRequiredService<IHttpClientFactory>()));
        }

        builder.Services.AddSingleton<IAlertDestinations, AlertDestinations>();
        builder.Services.AddHostedService<AlertDeliveryWaker>(); // wakes the outboxes and the escalation on every node
        builder.Services.AddAlertmanagerDestination(builder.Configuration); // "Alerts:Alertmanager", "Alerts:ConsoleUrl" (docs/alertmanager.md)
        builder.Services.AddHostedService<CampusStarter>();
        builder.Services.AddHostedService<StatsWriter>();
        return builder;
    }
}

/// <summary>
/// Starts the campus grain once the silo runs: it activates every registered sensor, room and building, so offline
/// clocks and state writes run from the first minute, also for devices that never connect.
/// </summary>
public sealed class CampusStarter(IGrainFactory grains, ICampusRegistrySource registry, TelemetryMetrics metrics, ILogger<CampusStarter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (registry is CampusRegistryFile file)
        {
            metrics.ObserveGauge("telemetry.registry.reloads", "{reload}", "Registry file changes applied since start", () => file.Reloads);
            metrics.ObserveGauge("telemetry.registry.reloads.failed", "{reload}", "Registry file changes refused (invalid) since start; the previous registry stays", () => file.FailedReloads);
        }

        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await grains.GetGrain<ICampusGrain>(registry.Current.Campus.Id).Start();
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning("Starting the campus failed (attempt {Attempt}): {Error}", attempt, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, attempt)), stoppingToken);
            }
        }
    }
}
