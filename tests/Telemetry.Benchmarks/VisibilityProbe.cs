using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.Benchmarks;

/// <summary>
/// Measures publish → visible in InfluxDB: publishes a marker reading every <see cref="Interval"/> to the service
/// (its own sensor, next to the load) and polls InfluxDB every 50 ms for the markers not seen yet.
/// </summary>
sealed class VisibilityProbe(InfluxDbServer influx, string database, int mqttPort, string sensor)
{
    static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    readonly ConcurrentDictionary<long, long> published = new(); // ts → publish timestamp (Stopwatch)
    readonly List<double> visibleAfterMs = [];

    public IReadOnlyList<double> VisibleAfterMs => visibleAfterMs;

    public int Published => published.Count + visibleAfterMs.Count;

    public async Task RunAsync(CancellationToken stop)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", mqttPort).WithClientId(sensor).Build(), stop);
        var poller = PollAsync(stop);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                published[ts] = Stopwatch.GetTimestamp();
                await client.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic($"campus/bench/probe/{sensor}/telemetry")
                    .WithPayload(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"ts\":{ts},\"probe\":1}}")))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build(), stop);
                await Task.Delay(Interval, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        try
        {
            await poller;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>After the load: keeps polling until every marker is visible or the deadline passes.</summary>
    public async Task FinishAsync(TimeSpan within, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + within;
        while (!published.IsEmpty && DateTime.UtcNow < deadline)
        {
            await PollOnceAsync(ct);
            await Task.Delay(50, ct);
        }
    }

    public int NeverSeen => published.Count;

    async Task PollAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await PollOnceAsync(stop);
            await Task.Delay(50, stop);
        }
    }

    async Task PollOnceAsync(CancellationToken ct)
    {
        if (published.IsEmpty)
        {
            return;
        }

        var oldest = published.Keys.Min();
        var series = await influx.QueryAsync(database, $"SELECT probe FROM telemetry WHERE sensor = '{sensor}' AND time >= {oldest}ms", ct);
        var now = Stopwatch.GetTimestamp();
        foreach (var s in series)
        {
            for (var i = 0; i < s.Values.Count; i++)
            {
                if (published.TryRemove(s.Get(i, "time").GetInt64(), out var at))
                {
                    visibleAfterMs.Add(Stopwatch.GetElapsedTime(at, now).TotalMilliseconds);
                }
            }
        }
    }
}
