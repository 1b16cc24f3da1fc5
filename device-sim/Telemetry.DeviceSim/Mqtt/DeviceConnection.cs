using MQTTnet;
using Telemetry.DeviceSim.Behaviours;
using Telemetry.DeviceSim.Devices;

namespace Telemetry.DeviceSim.Mqtt;

/// <summary>
/// One device's MQTT client. Connects through a gate shared by all devices (bounded concurrency) and retries
/// with exponential backoff and jitter until connected or stopped; counts failures and reconnects.
/// Whatever the MQTT client throws is counted as an error of its kind (see <see cref="SimulationCounters.Errors"/>).
/// </summary>
sealed class DeviceConnection(IMqttClient client, MqttClientOptions options, SemaphoreSlim connectGate,
    SimulationCounters counters, Random random, TimeSpan connectTimeout) : IDisposable
{
    static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(15);
    static readonly TimeSpan DisconnectTimeout = TimeSpan.FromSeconds(2);

    public bool IsConnected => client.IsConnected;

    public bool EverConnected { get; private set; }

    /// <summary>Returns once connected; throws <see cref="OperationCanceledException"/> when <paramref name="stop"/> fires first.</summary>
    public async Task ConnectAsync(CancellationToken stop)
    {
        for (var attempt = 0; !await TryConnectAsync(stop); attempt++)
        {
            await Task.Delay(Backoff(attempt), stop);
        }

        if (EverConnected)
        {
            counters.Reconnected();
        }

        EverConnected = true;
    }

    public Task<MqttClientPublishResult> PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken) =>
        client.PublishAsync(message, cancellationToken);

    /// <summary>A clean DISCONNECT if connected; errors are counted, never thrown.</summary>
    public async Task DisconnectAsync()
    {
        if (!client.IsConnected)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(DisconnectTimeout);
        try
        {
            await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), timeout.Token);
        }
        catch (Exception e)
        {
            counters.Error("disconnect: " + SimulationCounters.Describe(e));
        }
    }

    public void Dispose() => client.Dispose();

    async Task<bool> TryConnectAsync(CancellationToken stop)
    {
        await connectGate.WaitAsync(stop);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(connectTimeout);
        try
        {
            var result = await client.ConnectAsync(options, timeout.Token);
            if (result.ResultCode == MqttClientConnectResultCode.Success)
            {
                return true;
            }

            counters.ConnectFailed($"refused by the broker: {result.ResultCode}");
            return false;
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
            throw new OperationCanceledException(stop);
        }
        catch (Exception) when (timeout.IsCancellationRequested)
        {
            counters.ConnectFailed($"no CONNACK within {connectTimeout.TotalSeconds:0.#}s");
            return false;
        }
        catch (Exception e)
        {
            counters.ConnectFailed(SimulationCounters.Describe(e));
            return false;
        }
        finally
        {
            connectGate.Release();
        }
    }

    /// <summary>250ms doubling per attempt up to 15s, each delay drawn from its upper half ("equal jitter").</summary>
    TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(MaxBackoff.TotalMilliseconds, FirstBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 16)));
        return TimeSpan.FromMilliseconds(random.Between(ceiling / 2, ceiling));
    }
}
