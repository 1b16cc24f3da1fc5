using Microsoft.Extensions.Options;
using Telemetry.Grains.Alerts.Delivery;
using Telemetry.Service.Alerts;

namespace Telemetry.Service.Hosting;

/// <summary>Re-notification and escalation of unacknowledged alerts (section <c>Alerts:Escalation</c>; docs/alerts.md).</summary>
public static class EscalationHosting
{
    /// <summary>
    /// Validated options always (checked at start against the configured destinations, <see cref="EscalationOptions.Problems"/>);
    /// the outboxes the escalation grain hands its notifications to. <see cref="AlertDeliveryWaker"/> wakes the grain
    /// only when some severity has a policy (otherwise it is never activated).
    /// </summary>
    public static WebApplicationBuilder AddTelemetryEscalation(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<EscalationOptions>().BindConfiguration(EscalationOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EscalationOptions>, EscalationOptionsValidator>();
        builder.Services.AddSingleton<IAlertOutboxes, GrainAlertOutboxes>();
        return builder;
    }
}
