using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// A well-behaved device: MQTT 5, QoS 1, one reading every <see cref="Interval"/> for the registered sensor, each with a
/// sequence number (<c>seq</c>) and its own timestamp. Records which readings were acknowledged and each PUBACK's latency,
/// labelled with the phase of the test it fell in. It does not reconnect: losing its connection fails the test.
/// </summary>
public sealed class GoodDevice : IAsyncDisposable
{
    /// <summary>Pacing of a real device (not a synchronisation wait): about 100 readings a second.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(10);

    readonly IMqttClient client;
    readonly CancellationTokenSource stop = new();
    readonly ConcurrentBag<(int Phase, double Ms)> latencies = [];
    readonly ConcurrentDictionary<long, long> acknowledged = new(); // seq -> ts
    readonly long baseTs = DateTimeOffset.UtcNow.AddMinutes(-2).ToUnixTimeMilliseconds();
    Task? loop;
    volatile int phase;
    volatile string? failure;

    GoodDevice(IMqttClient client) => this.client = client;

    public static async Task<GoodDevice> StartAsync(int port, CancellationToken ct)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        // It logs in as its own identity, from an address of its own (no per-address limit an attack triggers reaches
        // it), with a keep-alive below the broker's maximum.
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithClientId(HostileFixture.GoodSensor)
            .WithCredentials(HostileFixture.GoodSensor, HostileFixture.GoodPassword)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanSession(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(3))
            .WithTimeout(TimeSpan.FromSeconds(30))
            .Build();
        ((MqttClientTcpOptions)options.ChannelOptions).LocalEndpoint = new System.Net.IPEndPoint(HostileFixture.GoodDeviceAddress, 0);
        var result = await client.ConnectAsync(options, ct);
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        var device = new GoodDevice(client);
        device.loop = Task.Run(device.RunAsync, CancellationToken.None);
        return device;
    }

    /// <summary>0 baseline, 1 under attack, 2 after.</summary>
    public int Phase
    {
        get => phase;
        set => phase = value;
    }

    public int Acknowledged => acknowledged.Count;

    /// <summary>Its one connection is still up (it is never knocked off by another identity's CONNECT).</summary>
    public bool IsConnected => client.IsConnected;

    public IReadOnlyDictionary<long, long> AcknowledgedReadings => acknowledged;

    /// <summary>Why the device stopped early (a refused or failed publish, a lost connection), or null.</summary>
    public string? Failure => failure;

    public IReadOnlyList<double> LatenciesMs(int ofPhase) => [.. latencies.Where(l => l.Phase == ofPhase).Select(l => l.Ms).Order()];

    async Task RunAsync()
    {
        long seq = 0;
        while (!stop.IsCancellationRequested)
        {
            var ts = baseTs + seq;
            var payload = string.Create(CultureInfo.InvariantCulture, $"{{\"ts\":{ts},\"seq\":{seq}}}");
            var sentIn = phase;
            var clock = Stopwatch.StartNew();
            try
            {
                // Not cancelled by StopAsync: a reading sent is either acknowledged or a failure, never left in doubt.
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic(HostileFixture.GoodTopic)
                    .WithPayload(Encoding.UTF8.GetBytes(payload))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build(), timeout.Token);
                if (!result.IsSuccess)
                {
                    failure = $"reading {seq}: PUBACK {result.ReasonCode} {result.ReasonString}";
                    return;
                }
            }
            catch (Exception ex)
            {
                failure = $"reading {seq}: {ex.GetType().Name}: {ex.Message}";
                return;
            }

            latencies.Add((sentIn, clock.Elapsed.TotalMilliseconds));
            acknowledged[seq] = ts;
            seq++;
            try
            {
                await Task.Delay(Interval, stop.Token); // the device's cadence (a reading every Interval), not a wait for anything
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task StopAsync()
    {
        await stop.CancelAsync();
        if (loop is not null)
        {
            await loop;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (client.IsConnected)
        {
            await client.DisconnectAsync();
        }

        client.Dispose();
        stop.Dispose();
    }

    /// <summary>The q-quantile (0..1) of sorted values, nearest rank.</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
}
