using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Telemetry.Broker.Transport;
using Telemetry.Broker.Identity;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;

namespace Telemetry.Broker;

public static class BrokerServiceCollectionExtensions
{
    /// <summary>The MQTT broker and the ingest contract: sections <c>Broker</c> and <c>Ingest</c>.</summary>
    public static IServiceCollection AddTelemetryBroker(this IServiceCollection services)
    {
        services.AddOptions<BrokerOptions>().BindConfiguration(BrokerOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<BrokerOptions>, ListenerOptionsValidator>();
        services.AddSingleton<TlsHandshake>();
        services.AddOptions<IngestLimits>().BindConfiguration(IngestLimits.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var guard = new CardinalityGuard(sp.GetRequiredService<TimeProvider>());
            sp.GetRequiredService<TelemetryMetrics>().ObserveGauge("telemetry.ingest.unregistered_sensors", "{sensor}",
                "Unregistered sensors admitted since start (Ingest:MaxUnregisteredSensors bounds it)", () => guard.UnregisteredSensorsAdmitted);
            return guard;
        });
        services.AddDeviceIdentities();
        services.AddSingleton<OpenConnections>();
        services.AddSingleton<ConnectionValidator>();
        services.AddSingleton<SensorConnectionSignals>();
        services.AddHostedService(sp => sp.GetRequiredService<SensorConnectionSignals>());
        services.AddSingleton<IngestHandler>();
        services.AddSingleton<RefusalLog>();
        services.AddSingleton<ConnectionRefusals>();
        services.AddSingleton<MqttBroker>();
        services.AddHostedService(sp => sp.GetRequiredService<MqttBroker>());
        return services;
    }
}
