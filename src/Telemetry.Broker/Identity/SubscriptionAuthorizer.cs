using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Telemetry.Domain.Identity;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;

namespace Telemetry.Broker.Identity;

/// <summary>
/// Who may subscribe to what. Device data is never forwarded to subscribers (the broker only ingests it), so what there
/// is to read is the service's alerts (retained, under the alert topic root) and whatever a future command topic holds:
/// <list type="bullet">
/// <item><c>$</c>-topics (<c>$SYS/#</c>) and filters that begin with a wildcard (<c>#</c>, <c>+/…</c>): refused to
///   everyone (<c>subscription_not_allowed</c>);</item>
/// <item>filters that may match an alert topic: only identities with the <c>alerts</c> role in the credential store,
///   and only filters inside the alert root (<c>alerts_role_required</c> otherwise). Anonymous connections count as
///   having the role only in the loopback demo (anonymous allowed and the broker bound to loopback);</item>
/// <item>anything else: only the topics of a sensor the identity may publish for
///   (<c>campus/{building}/{room}/{sensor}/…</c> with that sensor named literally); anonymous demo connections may
///   subscribe to any <c>campus/…</c> filter.</item>
/// </list>
/// A refused filter gets SUBACK reason code 0x87 (not authorized) on MQTT 5 (0x80 failure on 3.1.1), is counted on
/// <c>telemetry.mqtt.subscriptions.refused{reason}</c> and logged at most once per reason every 10 s.
/// </summary>
public sealed class SubscriptionAuthorizer(
    IOptions<BrokerOptions> options,
    CredentialStore store,
    PublishAuthorizer publish,
    ProtectedTopics topics,
    TelemetryMetrics metrics,
    ILogger<SubscriptionAuthorizer> logger)
{
    readonly LogThrottle logThrottle = new(TimeSpan.FromSeconds(10), TimeProvider.System);

    public Task InterceptAsync(InterceptingSubscriptionEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var filter = args.TopicFilter.Topic ?? "";
        var identity = ConnectionIdentity.Of(args.SessionItems);
        if (Decide(identity, args.ClientId, filter) is { } refusal)
        {
            args.ProcessSubscription = false;
            args.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            args.ReasonString = $"{refusal.Reason}: {refusal.Detail}";
            metrics.SubscriptionsRefused.Add(1, new KeyValuePair<string, object?>("reason", refusal.Reason));
            if (logThrottle.ShouldLog(refusal.Reason, out var suppressed))
            {
                logger.LogWarning("Refused subscription of client {ClientId} ({Identity}) to {Filter}: {Reason} ({Detail}); {Suppressed} more refused for this reason since the last line",
                    Text.ForLog(args.ClientId), Text.ForLog(identity.ToString()), Text.ForLog(filter), refusal.Reason, refusal.Detail, suppressed);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Null when <paramref name="identity"/> may subscribe to <paramref name="filter"/>, else why not.</summary>
    public (string Reason, string Detail)? Decide(ConnectionIdentity identity, string clientId, string filter)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.StartsWith('$') || filter.StartsWith('#') || filter.StartsWith('+'))
        {
            return ("subscription_not_allowed", "$-topics and filters that begin with a wildcard are not open to clients");
        }

        var demo = identity.IsAnonymous && options.Value.AnonymousAllowed() && System.Net.IPAddress.IsLoopback(options.Value.ListenAddress());
        if (topics.MayMatchAlerts(filter))
        {
            var entry = identity.IsAnonymous ? null : store.Find(identity.Name);
            var current = identity.Source != IdentitySource.Password || PublishAuthorizer.IsCurrent(identity, entry);
            var hasRole = demo || (current && entry?.HasRole(CredentialEntry.AlertsRole) == true);
            return !hasRole
                ? ("alerts_role_required", $"alert topics ({topics.AlertTopicRoot}/…) need the '{CredentialEntry.AlertsRole}' role in the credential store")
                : !topics.IsWithinAlerts(filter)
                    ? ("subscription_not_allowed", $"a filter for alerts must begin with {topics.AlertTopicRoot}/")
                    : null;
        }

        if (demo && filter.StartsWith("campus/", StringComparison.Ordinal))
        {
            return null;
        }

        // campus/{building}/{room}/{sensor}/…: the sensor level must name a sensor this identity may publish for.
        var levels = filter.Split('/');
        return levels is ["campus", _, _, var sensor, ..] && sensor is not ("+" or "#") && !levels.AsSpan(0, 4).Contains("#")
               && publish.MayPublish(identity, clientId, sensor, out _)
            ? null
            : ("subscription_not_allowed", "a device may subscribe only to the topics of its own sensors");
    }
}
