using Telemetry.Contracts;

namespace Telemetry.Grains.Alerts;

/// <summary>
/// Where alert lifecycle steps go once they are persisted and written to InfluxDB: MQTT and webhooks (implemented
/// by the host). Must not block: implementations queue.
/// </summary>
public interface IAlertNotifier
{
    void Notify(AlertStep alertStep);
}
