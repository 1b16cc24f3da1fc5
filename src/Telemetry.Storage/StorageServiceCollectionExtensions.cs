using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Telemetry.Storage.Influx;

namespace Telemetry.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>The write pipeline: sections <c>Influx</c> and <c>Writer</c>; the target API is chosen by <c>Influx:Api</c>.</summary>
    public static IServiceCollection AddTelemetryStorage(this IServiceCollection services)
    {
        services.AddOptions<InfluxOptions>().BindConfiguration(InfluxOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WriterOptions>().BindConfiguration(WriterOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddHttpClient(InfluxV1Target.HttpClientName);
        services.AddSingleton<IInfluxTarget>(sp => sp.GetRequiredService<IOptions<InfluxOptions>>().Value.Api switch
        {
            InfluxApi.V1 => ActivatorUtilities.CreateInstance<InfluxV1Target>(sp),
            _ => ActivatorUtilities.CreateInstance<InfluxV2Target>(sp),
        });
        services.AddSingleton<BatchingWriter>();
        services.AddSingleton<ITelemetryWriter>(sp => sp.GetRequiredService<BatchingWriter>());
        services.AddHostedService(sp => sp.GetRequiredService<BatchingWriter>());
        return services;
    }
}
