using Telemetry.Contracts;
using Telemetry.Domain.Observability;
using Telemetry.Grains.Alerts.Delivery;

namespace Telemetry.Service.Alerts;

/// <summary>
/// Wakes the escalation grain (<see cref="AlertEscalationGrain"/>) every <see cref="Interval"/> on every node: the
/// first call activates it (after a restart, or on a surviving node after its node died — reminders are in memory
/// in single-node mode, so nothing else would), later calls make it read the alert index's new steps. The grain's own
/// timer sends what falls due between wakes. A failed call is counted and logged (throttled) and made again at the
/// next interval. Registered only when a severity has an escalation policy.
/// </summary>
public sealed class EscalationWaker(IGrainFactory grains, TelemetryMetrics metrics, TimeProvider time, ILogger<EscalationWaker> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    readonly LogThrottle failureLog = new(TimeSpan.FromMinutes(1), time);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                await WakeAsync();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    async Task WakeAsync()
    {
        try
        {
            await grains.GetGrain<IAlertEscalationGrain>(AlertEscalationGrain.Key).Wake();
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            metrics.AlertEscalationProblems.Add(1, new KeyValuePair<string, object?>("reason", "wake_failed"));
            if (failureLog.ShouldLog("wake_failed", out var suppressed))
            {
                logger.LogWarning("Could not wake the alert escalation ({Error}); tried again in {Interval} ({Suppressed} more since the last such line)",
                    ex.Message, Interval, suppressed);
            }
        }
    }
}
