using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Grains.Alerts.Delivery;
using Telemetry.Service.Alerts;

namespace Telemetry.Service.Hosting;

/// <summary>Re-notification and escalation of unacknowledged alerts (section <c>Alerts:Escalation</c>; docs/alerts.md).</summary>
public static class EscalationHosting
{
    /// <summary>
    /// Validated options always (checked at start against the configured destinations, <see cref="EscalationOptions.Problems"/>);
    /// the outboxes the escalation grain hands its notifications to; the waker only when some severity has a policy
    /// (otherwise the escalation grain is never activated).
    /// </summary>
    public static WebApplicationBuilder AddTelemetryEscalation(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<EscalationOptions>().BindConfiguration(EscalationOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EscalationOptions>, EscalationOptionsValidator>();
        builder.Services.AddSingleton<IAlertOutboxes, GrainAlertOutboxes>();
        var configured = builder.Configuration.GetSection(EscalationOptions.SectionName).Get<EscalationOptions>() ?? new EscalationOptions();
        if (Enum.GetValues<AlertSeverity>().Any(s => configured.PolicyOf(s) is not null))
        {
            builder.Services.AddHostedService<EscalationWaker>();
        }

        return builder;
    }
}
