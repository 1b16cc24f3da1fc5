using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>
/// Devices that publish QoS 1 readings at a steady pace, the way a real device behaves: a reading is kept until it
/// is acknowledged (on a timeout or a lost connection it is sent again, same timestamp), connections are re-made
/// with a short pause. Records what was attempted and what was acknowledged, per (sensor, timestamp).
/// </summary>
public sealed class SteadyLoad : IAsyncDisposable
{
    readonly CancellationTokenSource stop = new();
    readonly Func<int> port;
    readonly Task[] devices;
    readonly ConcurrentDictionary<(string Sensor, long Ts), double> attempted = new();
    readonly ConcurrentDictionary<(string Sensor, long Ts), double> acknowledged = new();
    long reconnects;
    long unacknowledgedAttempts;

    SteadyLoad(Func<int> port, string runId, int deviceCount, TimeSpan interval, TimeSpan ackTimeout)
    {
        this.port = port;
        var baseTs = DateTimeOffset.UtcNow.AddMinutes(-30).ToUnixTimeMilliseconds();
        devices = [.. Enumerable.Range(0, deviceCount).Select(d => Task.Run(() => RunDeviceAsync($"{runId}-d{d}", baseTs + d, interval, ackTimeout)))];
    }

    /// <summary>Starts <paramref name="deviceCount"/> devices against the broker on <paramref name="port"/> (read again at every reconnect).</summary>
    public static SteadyLoad Start(Func<int> port, string runId, int deviceCount, TimeSpan interval, TimeSpan? ackTimeout = null) =>
        new(port, runId, deviceCount, interval, ackTimeout ?? TimeSpan.FromSeconds(60));

    public long Acknowledged => acknowledged.Count;

    public long Reconnects => Interlocked.Read(ref reconnects);

    /// <summary>Publishes that ended without a PUBACK (timeout or lost connection) and were sent again.</summary>
    public long UnacknowledgedAttempts => Interlocked.Read(ref unacknowledgedAttempts);

    public IReadOnlySet<(string Sensor, long Ts)> AcknowledgedReadings => acknowledged.Keys.ToHashSet();

    public IReadOnlySet<(string Sensor, long Ts)> AttemptedReadings => attempted.Keys.ToHashSet();

    /// <summary>Waits until at least <paramref name="count"/> more readings were acknowledged (polling, with a deadline).</summary>
    public async Task WaitForMoreAcksAsync(long count, TimeSpan within, CancellationToken cancellationToken)
    {
        var from = Acknowledged;
        await Poll.UntilAsync(
            $"{count} more acknowledged readings", () => Task.FromResult(Acknowledged - from), more => more >= count, within,
            show: more => $"{more} more acknowledged ({Reconnects} reconnects, {UnacknowledgedAttempts} unacknowledged attempts)",
            cancellationToken: cancellationToken);
    }

    public async Task StopAsync()
    {
        await stop.CancelAsync();
        await Task.WhenAll(devices);
    }

    async Task RunDeviceAsync(string sensor, long firstTs, TimeSpan interval, TimeSpan ackTimeout)
    {
        var topic = $"campus/faults/r1/{sensor}/telemetry";
        var ts = firstTs;
        IMqttClient? client = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (client is not { IsConnected: true })
                {
                    client?.Dispose();
                    client = await ConnectAsync(sensor);
                    if (client is null)
                    {
                        await Pause(TimeSpan.FromMilliseconds(100));
                        continue;
                    }
                }

                var value = (ts % 100_000) + 0.5;
                var payload = string.Create(CultureInfo.InvariantCulture, $"{{\"ts\":{ts},\"temperature\":{value}}}");
                attempted[(sensor, ts)] = value;
                try
                {
                    using var timeout = new CancellationTokenSource(ackTimeout);
                    var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                        .WithTopic(topic)
                        .WithPayload(Encoding.UTF8.GetBytes(payload))
                        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                        .Build(), timeout.Token);
                    if (!result.IsSuccess)
                    {
                        throw new InvalidOperationException($"{sensor}: PUBACK {result.ReasonCode} {result.ReasonString}");
                    }

                    acknowledged[(sensor, ts)] = value;
                    ts++; // the next reading (1 ms later); a failed one is sent again with the same timestamp
                }
                catch (Exception ex) when (ex is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException or TimeoutException)
                {
                    Interlocked.Increment(ref unacknowledgedAttempts);
                    client.Dispose();
                    client = null;
                    continue;
                }

                await Pause(interval);
            }
        }
        finally
        {
            await LoadClients.CloseAsync(client);
        }
    }

    async Task<IMqttClient?> ConnectAsync(string clientId)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var result = await client.ConnectAsync(new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", port())
                .WithClientId(clientId)
                .WithCleanSession(true)
                .WithTimeout(TimeSpan.FromSeconds(5))
                .Build(), timeout.Token);
            if (result.ResultCode == MqttClientConnectResultCode.Success)
            {
                Interlocked.Increment(ref reconnects);
                return client;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException)
        {
        }

        client.Dispose();
        return null;
    }

    async Task Pause(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        stop.Dispose();
    }
}
