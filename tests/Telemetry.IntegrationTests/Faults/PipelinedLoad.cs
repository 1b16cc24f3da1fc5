using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>One device of a <see cref="PipelinedLoad"/>: its sensor, the topic it publishes to and the value of its i-th reading.</summary>
/// <param name="Sensor">Sensor id, also the MQTT client id.</param>
/// <param name="Topic">Where it publishes, e.g. <c>campus/b/r/{sensor}/telemetry</c>.</param>
/// <param name="Value">The temperature of reading i.</param>
/// <param name="Alone">Readings sent with nothing else in flight (the ones before acknowledged first, the next ones
/// only once it is acknowledged), so that their order at the service is certain, e.g. an alert's spike.</param>
public sealed record LoadDevice(string Sensor, string Topic, Func<int, double> Value, IReadOnlySet<int> Alone);

/// <summary>
/// Devices that each publish a fixed series of QoS 1 readings over their own MQTT 5 connection with several publishes in
/// flight, the way a buffering device behaves: reading i has the timestamp <c>firstTs + i × step</c>; a reading is kept
/// until it is acknowledged with reason code Success; when the connection is lost (or a publish is refused or times out)
/// the device connects again and first sends again, in order and with the same timestamps, every reading that was not
/// acknowledged. Records what was attempted and what was acknowledged, per (sensor, timestamp).
/// </summary>
public sealed class PipelinedLoad : IAsyncDisposable
{
    readonly CancellationTokenSource stop = new();
    readonly Func<int> port;
    readonly int total;
    readonly int inflight;
    readonly TimeSpan pace;
    readonly Task[] tasks;
    readonly ConcurrentDictionary<(string Sensor, long Ts), byte> attempted = new();
    readonly ConcurrentDictionary<(string Sensor, long Ts), byte> acknowledged = new();
    readonly ConcurrentDictionary<string, int> ackedPerSensor = new();
    readonly ConcurrentDictionary<string, int> sentPerSensor = new();
    readonly ConcurrentDictionary<string, long> unacknowledgedBy = new();
    readonly ConcurrentQueue<string> faults = new();
    long connects;

    PipelinedLoad(Func<int> port, IReadOnlyList<LoadDevice> devices, long firstTs, long stepMs, int total, int inflight, TimeSpan pace)
    {
        this.port = port;
        this.total = total;
        this.inflight = inflight;
        this.pace = pace;
        FirstTs = firstTs;
        StepMs = stepMs;
        Devices = devices;
        tasks = [.. devices.Select(d => Task.Run(() => RunGuardedAsync(d)))];
    }

    /// <summary>
    /// Starts every device against the broker on <paramref name="port"/> (read again at every connect): each sends
    /// readings 0 … <paramref name="total"/> − 1, at most <paramref name="inflight"/> unacknowledged at a time and a new
    /// one at most every <paramref name="pace"/> (the device's cadence, not a wait for anything).
    /// </summary>
    public static PipelinedLoad Start(Func<int> port, IReadOnlyList<LoadDevice> devices, long firstTs, long stepMs, int total, int inflight, TimeSpan pace) =>
        new(port, devices, firstTs, stepMs, total, inflight, pace);

    public IReadOnlyList<LoadDevice> Devices { get; }

    public long FirstTs { get; }

    public long StepMs { get; }

    public int Total => total;

    public long Timestamp(int index) => FirstTs + (index * StepMs);

    public long Acknowledged => acknowledged.Count;

    /// <summary>Successful CONNECTs, the first ones included.</summary>
    public long Connects => Interlocked.Read(ref connects);

    /// <summary>Publishes that ended without a Success PUBACK, by why (an exception type or a reason code).</summary>
    public IReadOnlyDictionary<string, long> UnacknowledgedBy => unacknowledgedBy.ToDictionary();

    public IReadOnlySet<(string Sensor, long Ts)> AcknowledgedReadings => acknowledged.Keys.ToHashSet();

    public IReadOnlySet<(string Sensor, long Ts)> AttemptedReadings => attempted.Keys.ToHashSet();

    /// <summary>Readings of <paramref name="sensor"/> acknowledged so far.</summary>
    public int AcknowledgedOf(string sensor) => ackedPerSensor.GetValueOrDefault(sensor);

    /// <summary>The highest reading index of <paramref name="sensor"/> handed to its connection so far (−1 before the first).</summary>
    public int HighestSentOf(string sensor) => sentPerSensor.GetValueOrDefault(sensor, -1);

    /// <summary>Whether <paramref name="sensor"/>'s reading <paramref name="index"/> was acknowledged.</summary>
    public bool IsAcknowledged(string sensor, int index) => acknowledged.ContainsKey((sensor, Timestamp(index)));

    /// <summary>Waits (polling, with a deadline) until every device had all of its readings acknowledged, then lets them end.</summary>
    public async Task WaitUntilAllAcknowledgedAsync(TimeSpan within, CancellationToken ct)
    {
        var all = (long)total * Devices.Count;
        await Poll.UntilAsync(
            $"all {all} readings of {Devices.Count} devices acknowledged",
            () => Task.FromResult(Acknowledged),
            acked => acked >= all || !faults.IsEmpty,
            within,
            show: acked => $"{acked} acknowledged; {Describe()}",
            cancellationToken: ct);
        Assert.True(faults.IsEmpty, $"a device failed: {string.Join(" | ", faults)}");
        await Task.WhenAll(tasks);
    }

    /// <summary>A line for logs and failure messages: connects, unacknowledged attempts by reason, per-device progress.</summary>
    public string Describe()
    {
        var unacknowledged = unacknowledgedBy.IsEmpty
            ? "none"
            : string.Join(", ", unacknowledgedBy.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"));
        var progress = string.Join(", ", Devices.Select(d => $"{d.Sensor} {AcknowledgedOf(d.Sensor)}/{total}"));
        var failures = faults.IsEmpty ? "" : $"; faults: {string.Join(" | ", faults)}";
        return $"{Connects} connects; unacknowledged attempts: {unacknowledged}; acknowledged per device: {progress}{failures}";
    }

    async Task RunGuardedAsync(LoadDevice device)
    {
        try
        {
            await RunDeviceAsync(device);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            faults.Enqueue($"{device.Sensor}: {ex}");
        }
    }

    async Task RunDeviceAsync(LoadDevice device)
    {
        var resend = new SortedSet<int>();
        var next = 0;
        IMqttClient? client = null;
        try
        {
            while (AcknowledgedOf(device.Sensor) < total)
            {
                stop.Token.ThrowIfCancellationRequested();
                client?.Dispose();
                client = await ConnectAsync(device.Sensor);
                if (client is null)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), stop.Token); // a device's pause before it tries again
                    continue;
                }

                var failed = new ConcurrentQueue<int>();
                var lost = 0;
                var pending = new List<Task>();
                using var slots = new SemaphoreSlim(inflight);
                while (Volatile.Read(ref lost) == 0)
                {
                    int index;
                    if (resend.Count > 0)
                    {
                        index = resend.Min;
                        resend.Remove(index);
                    }
                    else if (next < total)
                    {
                        index = next++;
                    }
                    else
                    {
                        break;
                    }

                    var alone = device.Alone.Contains(index);
                    if (alone)
                    {
                        await Task.WhenAll(pending);
                        if (Volatile.Read(ref lost) != 0 || !failed.IsEmpty)
                        {
                            resend.Add(index);
                            break;
                        }
                    }

                    await slots.WaitAsync(stop.Token);
                    sentPerSensor.AddOrUpdate(device.Sensor, index, (_, highest) => Math.Max(highest, index));
                    var publish = PublishAsync(client, device, index, slots, failed, () => Interlocked.Exchange(ref lost, 1));
                    pending.Add(publish);
                    if (alone)
                    {
                        await publish;
                    }

                    await Task.Delay(pace, stop.Token); // the device's publishing cadence (pacing, not synchronisation)
                }

                await Task.WhenAll(pending);
                foreach (var index in failed)
                {
                    resend.Add(index);
                }

                if (Volatile.Read(ref lost) == 0 && !failed.IsEmpty)
                {
                    // Refused (not lost): a device waits a moment before it tries again (its back-off, not a wait for anything).
                    await Task.Delay(TimeSpan.FromMilliseconds(100), stop.Token);
                }
            }
        }
        finally
        {
            await LoadClients.CloseAsync(client);
        }
    }

    async Task PublishAsync(IMqttClient client, LoadDevice device, int index, SemaphoreSlim slots, ConcurrentQueue<int> failed, Action connectionLost)
    {
        var ts = Timestamp(index);
        var payload = string.Create(CultureInfo.InvariantCulture, $"{{\"ts\":{ts},\"temperature\":{device.Value(index)}}}");
        attempted[(device.Sensor, ts)] = 0;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(device.Topic)
                .WithPayload(Encoding.UTF8.GetBytes(payload))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build(), timeout.Token);
            if (result.ReasonCode == MqttClientPublishReasonCode.Success)
            {
                if (acknowledged.TryAdd((device.Sensor, ts), 0))
                {
                    ackedPerSensor.AddOrUpdate(device.Sensor, 1, (_, n) => n + 1);
                }
            }
            else
            {
                unacknowledgedBy.AddOrUpdate($"PUBACK {result.ReasonCode}", 1, (_, n) => n + 1);
                failed.Enqueue(index);
            }
        }
        catch (Exception ex) when (!stop.IsCancellationRequested)
        {
            // The connection died under the publish (the service was killed) or it timed out: not acknowledged.
            unacknowledgedBy.AddOrUpdate(ex.GetType().Name, 1, (_, n) => n + 1);
            failed.Enqueue(index);
            connectionLost();
        }
        finally
        {
            slots.Release();
        }
    }

    async Task<IMqttClient?> ConnectAsync(string clientId)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            var result = await client.ConnectAsync(new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", port())
                .WithClientId(clientId)
                .WithProtocolVersion(MqttProtocolVersion.V500)
                .WithCleanSession(true)
                .WithTimeout(TimeSpan.FromSeconds(5))
                .Build(), timeout.Token);
            if (result.ResultCode == MqttClientConnectResultCode.Success)
            {
                Interlocked.Increment(ref connects);
                return client;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException && !stop.IsCancellationRequested)
        {
        }

        client.Dispose();
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await Task.WhenAll(tasks);
        stop.Dispose();
    }
}
