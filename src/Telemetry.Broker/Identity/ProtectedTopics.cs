namespace Telemetry.Broker.Identity;

/// <summary>
/// Topics that belong to the service, not to devices: the alert topic root (<c>Alerts:MqttTopicRoot</c>, read by the
/// alert options and handed here by the host). Devices may not publish under it; subscribing needs the <c>alerts</c> role.
/// </summary>
public sealed class ProtectedTopics(string alertTopicRoot)
{
    public const string DefaultAlertTopicRoot = "campus/alerts";

    public string AlertTopicRoot { get; } = alertTopicRoot.TrimEnd('/');

    readonly string[] rootLevels = alertTopicRoot.TrimEnd('/').Split('/');

    /// <summary>Whether a PUBLISH topic lies under the alert root.</summary>
    public bool IsAlertTopic(string topic) =>
        topic is not null && (string.Equals(topic, AlertTopicRoot, StringComparison.Ordinal)
            || topic.StartsWith(AlertTopicRoot + "/", StringComparison.Ordinal));

    /// <summary>Whether a subscription filter could match some topic under the alert root.</summary>
    public bool MayMatchAlerts(string filter)
    {
        var levels = filter.Split('/');
        for (var i = 0; i < rootLevels.Length; i++)
        {
            if (i >= levels.Length)
            {
                return false;
            }

            if (levels[i] == "#")
            {
                return true;
            }

            if (levels[i] != "+" && !string.Equals(levels[i], rootLevels[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether a filter matches only topics under the alert root (its first levels name the root literally).</summary>
    public bool IsWithinAlerts(string filter) =>
        string.Equals(filter, AlertTopicRoot, StringComparison.Ordinal) || filter.StartsWith(AlertTopicRoot + "/", StringComparison.Ordinal);
}
