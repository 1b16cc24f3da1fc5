using Telemetry.Grains.Cluster;

namespace Telemetry.Service.Cluster;

/// <summary>The cluster view: each node reports itself; the registry agreement follows from the reports.</summary>
public static class ClusterViewHosting
{
    /// <summary>After the silo and the broker (it reports their numbers).</summary>
    public static WebApplicationBuilder AddTelemetryClusterView(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ClusterViewReporter>();
        builder.Services.AddSingleton<IRegistryAgreement>(sp => sp.GetRequiredService<ClusterViewReporter>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterViewReporter>());
        return builder;
    }
}
