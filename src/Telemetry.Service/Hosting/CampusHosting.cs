using Microsoft.Extensions.Options;
using Orleans.Runtime.Hosting;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Grains;
using Telemetry.Grains.Alerts;
using Telemetry.Grains.Persistence;
using Telemetry.Service.Alerts;
using Telemetry.Service.Observability;
using Telemetry.Service.Registry;

namespace Telemetry.Service.Hosting;

/// <summary>The campus model: registry, grain state, alert delivery, the campus start and the service's own statistics.</summary>
public static class CampusHosting
{
    /// <summary>Registry and grain state; before the silo, whose grains need them.</summary>
    public static WebApplicationBuilder AddTelemetryCampus(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<CampusOptions>().BindConfiguration(CampusOptions.SectionName);
        builder.Services.AddCampusRegistry(builder.Configuration);
        builder.Services.AddGrainStorage(GrainStorage.Name, (sp, _) => new DurableFileGrainStorage(
            sp.GetRequiredService<IOptions<CampusOptions>>().Value.StatePath,
            sp.GetRequiredService<ILogger<DurableFileGrainStorage>>()));
        return builder;
    }

    /// <summary>Alert delivery, the campus start and statistics; after the broker, which they publish through.</summary>
    public static WebApplicationBuilder AddTelemetryAlerts(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AlertOptions>().BindConfiguration(AlertOptions.SectionName);
        builder.Services.AddHttpClient(WebhookSender.HttpClientName);
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookSender>());
        builder.Services.AddSingleton<AlertNotifier>();
        builder.Services.AddSingleton<IAlertNotifier>(sp => sp.GetRequiredService<AlertNotifier>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AlertNotifier>());
        builder.Services.AddHostedService<CampusStarter>();
        builder.Services.AddHostedService<StatsWriter>();
        return builder;
    }
}

/// <summary>
/// Starts the campus grain once the silo runs: it activates every registered sensor, room and building, so offline
/// clocks and state writes run from the first minute, also for devices that never connect.
/// </summary>
public sealed class CampusStarter(IGrainFactory grains, ICampusRegistrySource registry, ILogger<CampusStarter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
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
