using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;
using Telemetry.Broker;
using Telemetry.Storage;
using Telemetry.Storage.Influx;

namespace Telemetry.Service.Health;

/// <summary>
/// <c>/health/live</c>: the process answers. <c>/health/ready</c>: the broker listens, the silo is active and
/// InfluxDB answers its ping; the body says which check failed and why.
/// </summary>
public static class HealthEndpoints
{
    const string Ready = "ready";

    public static WebApplicationBuilder AddTelemetryHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks()
            .AddCheck<BrokerHealthCheck>("broker", tags: [Ready])
            .AddCheck<SiloHealthCheck>("silo", tags: [Ready])
            .AddCheck<InfluxHealthCheck>("influxdb", tags: [Ready]);
        return builder;
    }

    public static WebApplication MapTelemetryHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready), ResponseWriter = WriteAsync });
        return app;
    }

    static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Description,
                data = e.Value.Data.Count > 0 ? e.Value.Data : null,
            }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonOptions));
    }

    static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}

sealed class BrokerHealthCheck(MqttBroker broker) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(broker.IsListening
            ? HealthCheckResult.Healthy($"listening on {broker.Endpoint}")
            : HealthCheckResult.Unhealthy($"not listening on {broker.Endpoint}"));
}

sealed class SiloHealthCheck(ISiloStatusOracle oracle) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(oracle.CurrentStatus == SiloStatus.Active
            ? HealthCheckResult.Healthy("silo active")
            : HealthCheckResult.Unhealthy($"silo {oracle.CurrentStatus}"));
}

sealed class InfluxHealthCheck(IInfluxTarget target, ITelemetryWriter writer) : IHealthCheck
{
    static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PingTimeout);
        bool answers;
        try
        {
            answers = await target.PingAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            answers = false;
        }

        var data = new Dictionary<string, object> { ["pendingLines"] = writer.PendingLines };
        return answers
            ? HealthCheckResult.Healthy($"{target.Describe()} answers", data)
            : HealthCheckResult.Unhealthy($"{target.Describe()} does not answer its ping within {PingTimeout.TotalSeconds:0} s", data: data);
    }
}
