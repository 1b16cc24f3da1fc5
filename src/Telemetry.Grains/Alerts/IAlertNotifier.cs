using Telemetry.Contracts;

namespace Telemetry.Grains.Alerts;

/// <summary>
/// Where alert lifecycle steps go once they are persisted, written to InfluxDB and recorded in the alert index: the
/// webhooks (implemented by the host). Called on the node whose sensor grain raised the step, so each step is sent
/// once in a cluster; MQTT delivery on every node goes through the alert index's fan-out instead. Must not block:
/// implementations queue.
/// </summary>
public interface IAlertNotifier
{
    void Notify(AlertStep alertStep);
}
