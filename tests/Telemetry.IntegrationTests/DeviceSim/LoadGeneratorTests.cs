using System.Collections.Concurrent;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.DeviceSim.Load;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.DeviceSim;

/// <summary>The benchmark load generator against a real mosquitto: sensors spread over connections, and the measured window's edges.</summary>
public sealed class LoadGeneratorTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_connection_publishes_for_its_sensors_in_turn_and_the_window_edges_are_told_in_order()
    {
        // No limit on the counter's queue: mosquitto drops what is queued for a subscriber beyond 1000 messages by default,
        // and on a loaded machine the counter falls that far behind the publishers.
        await using var mosquitto = await MosquittoServer.StartAsync("max_queued_messages 0", Ct);
        using var subscriber = new MqttClientFactory().CreateMqttClient();
        var topics = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        long received = 0;
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            topics.AddOrUpdate(e.ApplicationMessage.Topic, 1, (_, n) => n + 1);
            Interlocked.Increment(ref received);
            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(mosquitto.Host, mosquitto.Port).WithClientId("load-counter").Build(), Ct);
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("campus/bench/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);

        var generator = new LoadGenerator(new LoadOptions
        {
            Port = mosquitto.Port, Connections = 3, SensorsPerConnection = 4, Inflight = 2, RunId = "spc1",
            Warmup = TimeSpan.FromMilliseconds(500), Duration = TimeSpan.FromSeconds(1),
        });
        var edges = new ConcurrentQueue<LoadPhase>();
        var result = await generator.RunAsync(progress: null, edges.Enqueue, Ct);

        Assert.True(result.Succeeded, string.Join(", ", result.Failures.Select(f => $"{f.Key} {f.Value}")));
        Assert.Equal([LoadPhase.Measuring, LoadPhase.Draining], edges.ToArray());
        await Poll.UntilAsync($"the subscriber to receive the {result.MessagesAcked} acknowledged messages", () => Task.FromResult(Interlocked.Read(ref received)),
            count => count >= result.MessagesAcked, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        var expected = Enumerable.Range(0, 3).SelectMany(i => Enumerable.Range(0, 4).Select(k => $"campus/bench/r1/{generator.SensorId(i, k)}/telemetry")).Order(StringComparer.Ordinal);
        Assert.Equal(expected, topics.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("spc1-c2-s3", generator.SensorId(2, 3));
        // In turn: no sensor of a connection gets more than one message more than another.
        foreach (var connection in topics.GroupBy(t => t.Key.Split('/')[3].Split("-s")[0]))
        {
            Assert.True(connection.Max(t => t.Value) - connection.Min(t => t.Value) <= 1, $"{connection.Key}: {string.Join(", ", connection.Select(t => $"{t.Key} {t.Value}"))}");
        }
    }
}
