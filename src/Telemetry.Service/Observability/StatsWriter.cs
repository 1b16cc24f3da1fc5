using Microsoft.Extensions.Options;
using Telemetry.Broker;
using Telemetry.Grains;
using Telemetry.Service.Cluster;
using Telemetry.Storage;
using Telemetry.Storage.Schema;

namespace Telemetry.Service.Observability;

/// <summary>
/// Writes the service's own counters to InfluxDB every <c>Campus:StateInterval</c> — <c>service_stats</c> (accepted
/// and refused messages) and <c>refusals</c> by reason — so the device-health dashboard shows message rates and
/// refusals beside the devices. Counters are cumulative since the process started; Grafana takes their rate. Their
/// <c>host</c> tag is the node's name (<c>Orleans:NodeName</c>, by default host name and silo port), so the nodes of a
/// cluster — even several on one machine — each write their own series.
/// </summary>
public sealed class StatsWriter(
    IngestHandler ingest,
    RefusalLog refusals,
    ITelemetryWriter writer,
    IOptions<CampusOptions> options,
    IOptions<SiloOptions> silo,
    TimeProvider time,
    ILogger<StatsWriter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var host = silo.Value.EffectiveNodeName;
        using var timer = new PeriodicTimer(options.Value.StateInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                var totals = refusals.Totals.ToArray();
                var lines = new List<string>(totals.Length + 1)
                {
                    SeriesLines.Stats(host, ingest.MessagesAccepted, ingest.ReadingsAccepted, totals.Sum(t => t.Value), now),
                };
                lines.AddRange(totals.Select(t => SeriesLines.Refusal(host, t.Key, t.Value, now)));
                await writer.WriteAsync(lines, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // One round's failure (the spool refusing with a resource error, out of memory) must not end the loop:
                // a BackgroundService that throws stops the host. The spool counts its own errors; next round retries.
                logger.LogWarning("Could not write service_stats: {Error}", ex.Message);
            }
        }
    }
}
