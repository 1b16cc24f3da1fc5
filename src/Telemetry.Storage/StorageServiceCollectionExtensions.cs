using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Telemetry.Storage.Drain;
using Telemetry.Storage.Influx;
using Telemetry.Storage.Reports;
using Telemetry.Storage.Spool;

namespace Telemetry.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// The write pipeline: the durable spool (section <c>Spool</c>) that the grains append to, and the drainer that
    /// moves it into InfluxDB (sections <c>Influx</c>, <c>Writer</c>); the target API is chosen by <c>Influx:Api</c>.
    /// Registered before the silo and the broker, so it starts first and stops last.
    /// </summary>
    public static IServiceCollection AddTelemetryStorage(this IServiceCollection services)
    {
        services.AddOptions<InfluxOptions>().BindConfiguration(InfluxOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WriterOptions>().BindConfiguration(WriterOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SpoolOptions>().BindConfiguration(SpoolOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddHttpClient(InfluxV1Target.HttpClientName);
        services.AddHttpClient(InfluxV1Target.HttpClientName + "-query");
        services.AddSingleton<IInfluxQuery, InfluxQuery>();
        services.AddSingleton<IInfluxTarget>(sp =>
        {
            var influx = sp.GetRequiredService<IOptions<InfluxOptions>>().Value;
            var raw = Create(sp, influx);
            return influx.HasLongRetention
                ? new RoutingInfluxTarget(raw, Create(sp, influx.ForLongRetention()), Schema.SeriesLines.LongRetention)
                : raw;
        });
        services.AddSingleton<WriteAheadSpool>();
        services.AddSingleton<ITelemetryWriter>(sp => sp.GetRequiredService<WriteAheadSpool>());
        services.AddSingleton<IGrainFeed>(sp => sp.GetRequiredService<WriteAheadSpool>());
        services.AddHostedService(sp => sp.GetRequiredService<WriteAheadSpool>());
        services.TryAddSingleton<IReportMarks>(NoReportMarks.Instance); // the reports replace it when enabled
        services.AddSingleton<InfluxDrainer>();
        services.AddHostedService(sp => sp.GetRequiredService<InfluxDrainer>());
        return services;
    }

    /// <summary>
    /// Feeds the grains from the spool: the spool keeps a second cursor (<see cref="IGrainFeed"/>) whose consumed position
    /// is saved with its checkpoint and holds back segment deletion. Called by the host that runs the grain feeder; a
    /// spool without it has InfluxDB as its only consumer (<see cref="SpoolFeedSwitch"/>).
    /// </summary>
    public static IServiceCollection AddSpoolGrainFeed(this IServiceCollection services)
    {
        services.Configure<SpoolFeedSwitch>(o => o.Enabled = true);
        return services;
    }

    static IInfluxTarget Create(IServiceProvider sp, InfluxOptions influx) => influx.Api switch
    {
        InfluxApi.V1 => ActivatorUtilities.CreateInstance<InfluxV1Target>(sp, Options.Create(influx)),
        _ => ActivatorUtilities.CreateInstance<InfluxV2Target>(sp, Options.Create(influx)),
    };
}
