using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Ingest;

namespace Telemetry.Grains.Alerts.Delivery;

/// <summary>
/// Re-notification and escalation of alerts nobody acknowledges, per severity (configuration section
/// <c>Alerts:Escalation</c>; docs/alerts.md, "Escalation and re-notification"; docs/configuration.md):
/// <code>
/// "Alerts": {
///   "Escalation": {
///     "Critical": {
///       "RenotifyEvery": "00:15:00",       // sent again every 15 min while active and unacknowledged
///       "EscalateAfter": "01:00:00",       // still unacknowledged an hour after the raise: sent once to EscalateTo
///       "EscalateTo": [ "on-call" ]        // destination names (a webhook's Alerts:Webhooks:*:Name, the Alertmanager destination's name)
///     },
///     "Warning": { "RenotifyEvery": "04:00:00" }
///     // a severity not listed (here: Info) is neither re-notified nor escalated
///   }
/// }
/// </code>
/// A re-notification goes to every destination that takes the alert's raise and, once the alert is escalated, to the
/// escalation destinations too. The escalation goes to each <c>EscalateTo</c> destination whatever its severity and
/// event filters (naming it there is the choice). Acknowledging or clearing the alert stops both.
/// All values are checked together by <see cref="Problems"/> at start.
/// </summary>
public sealed class EscalationOptions
{
    public const string SectionName = "Alerts:Escalation";

    /// <summary>
    /// The shortest <c>RenotifyEvery</c> and <c>EscalateAfter</c> accepted. One second rather than a minute: it only
    /// keeps out zero and nonsense (a sub-second repeat would make every round a burst); the tests run the real
    /// service with seconds, and a campus that wants a 30 s re-notification may have it.
    /// </summary>
    public static readonly TimeSpan Minimum = TimeSpan.FromSeconds(1);

    public EscalationSeverityOptions Info { get; set; } = new();

    public EscalationSeverityOptions Warning { get; set; } = new();

    public EscalationSeverityOptions Critical { get; set; } = new();

    /// <summary>The options of <paramref name="severity"/>.</summary>
    public EscalationSeverityOptions Of(AlertSeverity severity) => severity switch
    {
        AlertSeverity.Info => Info,
        AlertSeverity.Warning => Warning,
        AlertSeverity.Critical => Critical,
        _ => throw new ArgumentOutOfRangeException(nameof(severity), severity, "not a severity"),
    };

    /// <summary>The policy of <paramref name="severity"/>; null when it has none (its alerts are not watched).</summary>
    public EscalationPolicy? PolicyOf(AlertSeverity severity)
    {
        var options = Of(severity);
        var policy = new EscalationPolicy(options.RenotifyEvery, options.EscalateAfter, [.. options.EscalateTo]);
        return policy.IsEmpty ? null : policy;
    }

    /// <summary>
    /// Every problem of these options, each naming its key; empty when they are valid. The one place the
    /// <c>Alerts:Escalation</c> section is validated (<paramref name="destinations"/>: the names of the configured
    /// destinations, which <c>EscalateTo</c> must name).
    /// </summary>
    public IReadOnlyList<string> Problems(IReadOnlyCollection<string> destinations)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        var problems = new List<string>();
        foreach (var severity in Enum.GetValues<AlertSeverity>())
        {
            var options = Of(severity);
            var key = $"{SectionName}:{severity}";
            if (options.RenotifyEvery is { } every && every < Minimum)
            {
                problems.Add($"{key}:RenotifyEvery must be at least {Minimum} (is {every})");
            }

            if (options.EscalateAfter is { } after && after < Minimum)
            {
                problems.Add($"{key}:EscalateAfter must be at least {Minimum} (is {after})");
            }

            if (options.EscalateAfter is null && options.EscalateTo.Count > 0)
            {
                problems.Add($"{key}:EscalateTo is set but {key}:EscalateAfter is not: say after how long to escalate");
            }

            if (options.EscalateAfter is not null && options.EscalateTo.Count == 0)
            {
                problems.Add($"{key}:EscalateAfter is set but {key}:EscalateTo names no destination");
            }

            foreach (var name in options.EscalateTo.Where(n => !destinations.Contains(n)).Distinct(StringComparer.Ordinal))
            {
                var known = destinations.Count == 0 ? "none is configured" : "configured: " + string.Join(", ", destinations.Order(StringComparer.Ordinal));
                problems.Add($"{key}:EscalateTo names \"{Text.ForLog(name)}\", which is not a configured alert destination ({known})");
            }
        }

        return problems;
    }
}

/// <summary>One severity's escalation policy (<see cref="EscalationOptions"/>).</summary>
public sealed class EscalationSeverityOptions
{
    /// <summary>Re-send an active, unacknowledged alert this often (at least <see cref="EscalationOptions.Minimum"/>); unset: never.</summary>
    public TimeSpan? RenotifyEvery { get; set; }

    /// <summary>Send an alert still active and unacknowledged this long after its raise to <see cref="EscalateTo"/>, once (at least <see cref="EscalationOptions.Minimum"/>); unset: never.</summary>
    public TimeSpan? EscalateAfter { get; set; }

    /// <summary>The names of the destinations an escalation goes to; each must be a configured destination.</summary>
    public List<string> EscalateTo { get; set; } = [];
}

/// <summary>Validates <see cref="EscalationOptions"/> against the configured destinations through <see cref="EscalationOptions.Problems"/>.</summary>
public sealed class EscalationOptionsValidator(IEnumerable<IAlertDestination> destinations) : IValidateOptions<EscalationOptions>
{
    public ValidateOptionsResult Validate(string? name, EscalationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Problems(destinations.Select(d => d.Name).ToHashSet(StringComparer.Ordinal));
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
