using MQTTnet;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>What the fault tests' simulated devices share.</summary>
static class LoadClients
{
    /// <summary>Ends a device's connection at the end of a load: a clean DISCONNECT when it is still up (a broker that is going away may refuse it), then disposes the client.</summary>
    public static async Task CloseAsync(IMqttClient? client)
    {
        if (client is { IsConnected: true })
        {
            try
            {
                await client.DisconnectAsync();
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException)
            {
                // the broker went away first: nothing left to close
            }
        }

        client?.Dispose();
    }
}
