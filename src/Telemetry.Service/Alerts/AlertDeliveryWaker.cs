using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Grains.Alerts.Delivery;

namespace Telemetry.Service.Alerts;

/// <summary>
/// Wakes, at start and every <see cref="Interval"/> on every node, every destination's outbox and — when a severity
/// has an escalation policy — the escalation grain: after a restart, or when their node died and Orleans activates
/// them elsewhere, delivery and escalation resume within one interval even if no new step kicks them. (Reminders would
/// do this in a cluster, but they live in memory on a single node.) A failed wake is counted
/// (<c>telemetry_alerts_outbox_problems_total{reason="wake_failed"}</c>, <c>telemetry_alerts_escalation_problems_total{reason="wake_failed"}</c>),
/// logged (throttled) and made again at the next interval.
/// </summary>
public sealed class AlertDeliveryWaker(
    IAlertDestinations destinations,
    IOptions<EscalationOptions> escalation,
    IGrainFactory grains,
    TelemetryMetrics metrics,
    TimeProvider time,
    ILogger<AlertDeliveryWaker> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    readonly LogThrottle failureLog = new(TimeSpan.FromMinutes(1), time);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var escalates = Enum.GetValues<AlertSeverity>().Any(s => escalation.Value.PolicyOf(s) is not null);
        if (destinations.All.Count == 0 && !escalates)
        {
            return;
        }

        if (destinations.All.Count > 0)
        {
            logger.LogInformation("Alert destinations: {Destinations}", string.Join(", ", destinations.All.Select(d => Text.ForLog(d.Name))));
        }

        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                var wakes = destinations.All.Select(d => WakeAsync(
                    () => grains.GetGrain<IAlertOutboxGrain>(d.Name).Wake(),
                    "the alert outbox " + Text.ForLog(d.Name),
                    () => metrics.AlertOutboxProblems.Add(1, new KeyValuePair<string, object?>("destination", d.Name), new KeyValuePair<string, object?>("reason", "wake_failed")))).ToList();
                if (escalates)
                {
                    wakes.Add(WakeAsync(
                        () => grains.GetGrain<IAlertEscalationGrain>(AlertEscalationGrain.Key).Wake(),
                        "the alert escalation",
                        () => metrics.AlertEscalationProblems.Add(1, new KeyValuePair<string, object?>("reason", "wake_failed"))));
                }

                await Task.WhenAll(wakes);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    async Task WakeAsync(Func<Task> wake, string what, Action count)
    {
        try
        {
            await wake();
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            count();
            if (failureLog.ShouldLog(what, out var suppressed))
            {
                logger.LogWarning("Could not wake {What} ({Error}); trying again every {Interval} ({Suppressed} more such lines held back)",
                    what, ex.Message, Interval, suppressed);
            }
        }
    }
}
