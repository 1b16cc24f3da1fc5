using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.Benchmarks;

/// <summary>Figures read from the service's <c>/metrics</c>.</summary>
static class ServiceMetrics
{
    /// <summary>Device messages the service refused (any reason): a benchmark's load should have none.</summary>
    public static async Task<long> RefusedMessagesAsync(ServiceProcess service, CancellationToken ct) =>
        (long)PrometheusText.Sum(await service.Http.GetStringAsync(new Uri(service.HttpUrl, "metrics"), ct), "telemetry_mqtt_messages_refused_total");
}
