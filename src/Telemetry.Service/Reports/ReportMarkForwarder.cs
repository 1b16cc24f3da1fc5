using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Domain.Observability;
using Telemetry.Grains.Reports;
using Telemetry.Storage.Reports;

namespace Telemetry.Service.Reports;

/// <summary>
/// Hands this node's report marks (hours of late readings the drainer wrote to InfluxDB) to the report grain every
/// <c>Reports:MarkFlushInterval</c>; when the call fails they are kept and sent with the next flush (counted as
/// <c>telemetry_reports_failures_total{reason="mark_forward"}</c>, logged throttled). At start it activates the report
/// grain, whose timer then closes hours and computes days. At a graceful stop it flushes once more; marks of a node
/// that dies within a flush interval are lost, and the report grain's recheck of recent days covers them
/// (docs/operations.md, "Reports").
/// </summary>
public sealed class ReportMarkForwarder(
    ReportMarks marks,
    IGrainFactory grains,
    IOptions<ReportOptions> options,
    TelemetryMetrics metrics,
    TimeProvider time,
    ILogger<ReportMarkForwarder> logger) : BackgroundService
{
    readonly LogThrottle failureLog = new(TimeSpan.FromMinutes(1), time);

    IReportGrain Grain => grains.GetGrain<IReportGrain>(ReportKeys.Campus);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The first flush also activates the report grain (an empty call), retried until it succeeds.
        using var timer = new PeriodicTimer(options.Value.MarkFlushInterval, time);
        var activated = false;
        do
        {
            activated = await FlushAsync(force: !activated) || activated;
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(force: false);
    }

    static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Sends the pending hours (or an empty call when <paramref name="force"/>); false when the call failed.</summary>
    async Task<bool> FlushAsync(bool force)
    {
        var hours = marks.Take();
        if (hours.Length == 0 && !force)
        {
            return true;
        }

        try
        {
            await Grain.MarkAsync(hours);
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            marks.Return(hours);
            metrics.ReportFailures.Add(1, new KeyValuePair<string, object?>("reason", "mark_forward"));
            if (failureLog.ShouldLog("mark_forward", out var suppressed))
            {
                logger.LogWarning("Reports: {Hours} hour mark(s) could not be handed to the report grain ({Error}); kept and sent again in {Interval} ({Suppressed} more such lines held back)",
                    hours.Length, ex.Message, options.Value.MarkFlushInterval, suppressed);
            }

            return false;
        }
    }
}
