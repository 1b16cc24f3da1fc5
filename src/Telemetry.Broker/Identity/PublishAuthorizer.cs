using Microsoft.Extensions.Options;
using Telemetry.Domain.Ingest;

namespace Telemetry.Broker.Identity;

/// <summary>
/// Which sensors a connection may publish for, decided by its identity:
/// <list type="bullet">
/// <item>an authenticated identity (password or certificate): the sensors its credential-store entry lists
///   (<c>sensors=a,b</c>, or <c>*</c> for a gateway), by default only the sensor whose id is the identity. The client id
///   plays no part. A password identity whose entry has gone (revoked) may publish nothing;</item>
/// <item>an anonymous connection (only where anonymous devices are allowed): <c>Broker:SensorAcl</c> decides — <c>Open</c>
///   any sensor (the loopback demo), <c>OwnSensor</c> only the sensor named by its client id.</item>
/// </list>
/// Nobody may publish under the alert topic root (<c>forged_alert</c>): alerts come from the service alone.
/// </summary>
public sealed class PublishAuthorizer(IOptions<BrokerOptions> options, CredentialStore store, ProtectedTopics topics)
{
    /// <summary>A topic under the alert root, checked before the topic is parsed.</summary>
    public bool IsForgedAlert(string topic, out Refusal refusal)
    {
        refusal = default;
        if (!topics.IsAlertTopic(topic))
        {
            return false;
        }

        refusal = new Refusal(RefusalReason.ForgedAlert,
            $"topics under {topics.AlertTopicRoot} carry the service's alerts; devices may not publish there");
        return true;
    }

    public bool MayPublish(ConnectionIdentity identity, string clientId, string sensor, out Refusal refusal)
    {
        ArgumentNullException.ThrowIfNull(identity);
        refusal = default;
        string why;
        if (identity.IsAnonymous)
        {
            if (options.Value.SensorAcl == SensorAcl.Open || string.Equals(clientId, sensor, StringComparison.Ordinal))
            {
                return true;
            }

            why = $"anonymous client '{Text.ForLog(clientId)}' may publish only for sensor '{Text.ForLog(clientId)}' (Broker:SensorAcl is OwnSensor)";
        }
        else
        {
            var entry = store.Find(identity.Name);
            if (identity.Source == IdentitySource.Password && !IsCurrent(identity, entry))
            {
                // Logged in with a password the store no longer holds (rotated or revoked, possibly while the CONNECT
                // was being checked): nothing, until the connection is ended.
                entry = null;
            }

            if (entry is not null ? entry.MayPublishFor(sensor)
                : identity.Source == IdentitySource.Certificate && string.Equals(identity.Name, sensor, StringComparison.Ordinal))
            {
                return true;
            }

            why = entry is null && identity.Source == IdentitySource.Password
                ? $"identity '{Text.ForLog(identity.Name)}' is no longer in the credential store with the password it logged in with"
                : $"identity '{Text.ForLog(identity.Name)}' may not publish for this sensor (its sensors in the credential store: {Allowed(identity, entry)})";
        }

        refusal = new Refusal(RefusalReason.SensorNotAllowed, $"{why}, not for '{Text.ForLog(sensor)}'");
        return false;
    }

    /// <summary>For a password identity: the store's entry in force still holds the hash it logged in with.</summary>
    public static bool IsCurrent(ConnectionIdentity identity, Domain.Identity.CredentialEntry? entry) =>
        identity is not null && entry is not null && string.Equals(entry.Hash.Text, identity.Credential, StringComparison.Ordinal);

    static string Allowed(ConnectionIdentity identity, Domain.Identity.CredentialEntry? entry) =>
        entry is null || entry.Sensors.Count == 0 ? $"its own id '{Text.ForLog(identity.Name)}'"
            : entry.Sensors.Count > 5 ? $"{entry.Sensors.Count} sensors" : string.Join(", ", entry.Sensors.Select(s => Text.ForLog(s)));
}
