using System.Text.Json;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>A fault test's own InfluxDB 1.6 and its own service (in this process, v1 API), so it can break them freely.</summary>
public sealed class FaultRig : IAsyncDisposable
{
    FaultRig(InfluxDbServer influx, TelemetryServiceHost service)
    {
        Influx = influx;
        Service = service;
    }

    public InfluxDbServer Influx { get; }

    public TelemetryServiceHost Service { get; }

    public static async Task<FaultRig> StartAsync(IEnumerable<string> settings, CancellationToken ct)
    {
        var influx = await InfluxDbServer.StartAsync(ct);
        try
        {
            await influx.CreateDatabaseAsync("campus", ct);
            var service = await TelemetryServiceHost.StartAsync(
                [
                    "--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus",
                    "--Influx:Timeout=00:00:02", "--Writer:MaxRetryDelay=00:00:02",
                    .. settings,
                ], ct);
            return new FaultRig(influx, service);
        }
        catch
        {
            await influx.DisposeAsync();
            throw;
        }
    }

    /// <summary>The spool check of <c>/health/ready</c>: its status and numbers.</summary>
    public async Task<(string Status, long PendingLines, bool Full)> SpoolHealthAsync(CancellationToken ct)
    {
        using var response = await Service.Http.GetAsync(new Uri("health/ready", UriKind.Relative), ct);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var spool = doc.RootElement.GetProperty("checks").GetProperty("spool");
        var data = spool.GetProperty("data");
        return (spool.GetProperty("status").GetString()!, data.GetProperty("pendingLines").GetInt64(),
            spool.GetProperty("status").GetString() == "Unhealthy");
    }

    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        await Influx.DisposeAsync();
    }
}
