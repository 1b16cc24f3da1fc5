using Telemetry.Contracts;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Grains.Alerts.Delivery;

namespace Telemetry.Service.Alerts;

/// <summary>
/// Wakes every destination's outbox at start and every <see cref="Interval"/>, on every node: after a restart, or
/// when an outbox's node died and Orleans activates it elsewhere, delivery resumes within one interval even if no new
/// step kicks it. (Reminders would do this in a cluster, but they live in memory on a single node.) Failed wakes are
/// counted (<c>telemetry_alerts_outbox_problems_total{reason="wake_failed"}</c>) and logged.
/// </summary>
public sealed class AlertOutboxWaker(IAlertDestinations destinations, IGrainFactory grains, TelemetryMetrics metrics, TimeProvider time, ILogger<AlertOutboxWaker> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    readonly LogThrottle failureLog = new(TimeSpan.FromMinutes(1), time);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (destinations.All.Count == 0)
        {
            return;
        }

        logger.LogInformation("Alert destinations: {Destinations}", string.Join(", ", destinations.All.Select(d => Text.ForLog(d.Name))));
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                await Task.WhenAll(destinations.All.Select(d => WakeAsync(d.Name)));
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    async Task WakeAsync(string destination)
    {
        try
        {
            await grains.GetGrain<IAlertOutboxGrain>(destination).Wake();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            metrics.AlertOutboxProblems.Add(1, new KeyValuePair<string, object?>("destination", destination), new KeyValuePair<string, object?>("reason", "wake_failed"));
            if (failureLog.ShouldLog(destination, out var suppressed))
            {
                logger.LogWarning("Could not wake the alert outbox {Destination} ({Error}); trying again every {Interval} ({Suppressed} more such lines held back)",
                    Text.ForLog(destination), ex.Message, Interval, suppressed);
            }
        }
    }
}
