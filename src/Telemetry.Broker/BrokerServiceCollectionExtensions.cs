using Microsoft.Extensions.DependencyInjection;
using Telemetry.Broker.Identity;
using Telemetry.Domain.Ingest;

namespace Telemetry.Broker;

public static class BrokerServiceCollectionExtensions
{
    /// <summary>The MQTT broker and the ingest contract: sections <c>Broker</c> and <c>Ingest</c>.</summary>
    public static IServiceCollection AddTelemetryBroker(this IServiceCollection services)
    {
        services.AddOptions<BrokerOptions>().BindConfiguration(BrokerOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<IngestLimits>().BindConfiguration(IngestLimits.SectionName);
        services.AddDeviceIdentities();
        services.AddSingleton<OpenConnections>();
        services.AddSingleton<ConnectionValidator>();
        services.AddSingleton<IngestHandler>();
        services.AddSingleton<RefusalLog>();
        services.AddSingleton<MqttBroker>();
        services.AddHostedService(sp => sp.GetRequiredService<MqttBroker>());
        return services;
    }
}
