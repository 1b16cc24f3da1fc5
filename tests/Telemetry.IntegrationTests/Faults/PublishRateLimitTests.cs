using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.Broker;
using Telemetry.IntegrationTests.EndToEnd;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>
/// Broker:MaxMessagesPerSecondPerConnection slows a flooding connection down (its next packet is read only when the
/// rate allows, so its PUBACKs wait) while other devices are served, and a connection that never stops is closed
/// after Broker:RateLimitDisconnectAfter.
/// </summary>
public sealed class PublishRateLimitTests(PublishRateLimitTests.Rig rig) : IClassFixture<PublishRateLimitTests.Rig>
{
    const int Limit = 20;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    public sealed class Rig : IAsyncLifetime
    {
        FaultRig? rig;

        public TelemetryServiceHost Service => rig!.Service;

        public async ValueTask InitializeAsync() => rig = await FaultRig.StartAsync(
            [$"--Broker:MaxMessagesPerSecondPerConnection={Limit}", $"--Broker:MessageBurstPerConnection={Limit}", "--Broker:RateLimitDisconnectAfter=00:00:12"],
            CancellationToken.None);

        public async ValueTask DisposeAsync()
        {
            if (rig is not null)
            {
                await rig.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_QoS_1_flood_is_slowed_to_its_limit_while_another_device_gets_its_PUBACKs()
    {
        var ingest = rig.Service.Services.GetRequiredService<IngestHandler>();
        using var flood = await rig.Service.ConnectAsync("rl-flood1", MqttProtocolVersion.V500, Ct);
        using var good = await rig.Service.ConnectAsync("rl-good", MqttProtocolVersion.V500, Ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        long floodAcked = 0;
        var flooding = Task.Run(async () =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    var result = await flood.PublishAsync(Message("rl-flood1", MqttQualityOfServiceLevel.AtLeastOnce), stop.Token);
                    Assert.True(result.IsSuccess);
                    Interlocked.Increment(ref floodAcked);
                }
            }
            catch (Exception ex) when (stop.IsCancellationRequested && ex is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationTimedOutException)
            {
                // stopped by the test (MQTTnet reports a cancelled wait for PUBACK as a timeout)
            }
        }, CancellationToken.None);

        // Past the burst, measure the accepted rate over a window while the good device publishes.
        await Poll.UntilAsync("the flood to use up its burst", () => Task.FromResult(Interlocked.Read(ref floodAcked)), n => n >= Limit, cancellationToken: Ct);
        var startAccepted = ingest.MessagesAccepted;
        var window = Stopwatch.StartNew();
        const int GoodMessages = 10;
        for (var i = 0; i < GoodMessages; i++)
        {
            var result = await good.PublishAsync(Message("rl-good", MqttQualityOfServiceLevel.AtLeastOnce), Ct);
            Assert.True(result.IsSuccess, $"the good device's message {i} was not acknowledged: {result.ReasonCode}");
        }

        await Poll.UntilAsync("a measurement window of 3 s", () => Task.FromResult(window.Elapsed), e => e >= TimeSpan.FromSeconds(3), cancellationToken: Ct);
        var floodAccepted = ingest.MessagesAccepted - startAccepted - GoodMessages;
        var seconds = window.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await flooding;

        var rate = floodAccepted / seconds;
        TestContext.Current.TestOutputHelper?.WriteLine($"flood accepted {floodAccepted} in {seconds:0.00} s = {rate:0.0}/s (limit {Limit}/s)");
        Assert.True(floodAccepted > 0, "the flood was stopped, not slowed");
        Assert.True(rate < 3 * Limit, $"the flood was accepted at {rate:0.0} messages/s, the limit is {Limit}/s");
        Assert.True(flood.IsConnected, "slowing a flood for a few seconds must not disconnect it");
    }

    [Fact]
    public async Task A_QoS_0_flood_that_never_stops_is_disconnected_and_counted()
    {
        var before = await rig.Service.RefusalTotalsAsync(Ct);
        using var flood = await rig.Service.ConnectAsync("rl-flood0", MqttProtocolVersion.V500, Ct);
        var flooding = Task.Run(async () =>
        {
            try
            {
                while (flood.IsConnected)
                {
                    await flood.PublishAsync(Message("rl-flood0", MqttQualityOfServiceLevel.AtMostOnce), Ct);
                }
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or MQTTnet.Exceptions.MqttClientNotConnectedException or OperationCanceledException)
            {
                // disconnected by the broker
            }
        }, CancellationToken.None);

        await Poll.UntilAsync("the QoS 0 flood to be disconnected", () => Task.FromResult(flood.IsConnected), connected => !connected,
            within: TimeSpan.FromSeconds(90), every: TimeSpan.FromMilliseconds(200), cancellationToken: Ct);
        await flooding;
        // The client can see the connection end before the broker has counted why it closed it.
        var after = await Poll.UntilAsync("the rate_limited disconnect to be counted", () => rig.Service.RefusalTotalsAsync(Ct),
            totals => totals.GetValueOrDefault("rate_limited") > before.GetValueOrDefault("rate_limited"),
            within: TimeSpan.FromSeconds(30), show: totals => string.Join(", ", totals.Select(t => $"{t.Key}={t.Value}")), cancellationToken: Ct);
        Assert.Equal(1, after.GetValueOrDefault("rate_limited") - before.GetValueOrDefault("rate_limited"));
    }

    static MqttApplicationMessage Message(string sensor, MqttQualityOfServiceLevel qos) => new MqttApplicationMessageBuilder()
        .WithTopic($"campus/rl/r1/{sensor}/telemetry").WithPayload("{\"temperature\":21.5}"u8.ToArray())
        .WithQualityOfServiceLevel(qos).Build();
}

/// <summary>
/// A measurement, not an assertion on time: a good device's publish→PUBACK p99 alone and while another connection
/// floods QoS 0 as fast as it can (held to the default Broker:MaxMessagesPerSecondPerConnection). The numbers and
/// their factor go to the test output (docs/security.md states the factor measured).
/// </summary>
public sealed class FloodLatencyMeasurement
{
    const int Samples = 400;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Good_device_p99_PUBACK_with_and_without_a_flood()
    {
        await using var rig = await FaultRig.StartAsync([], Ct);
        using var good = await rig.Service.ConnectAsync("lat-good", MqttProtocolVersion.V500, Ct);
        await MeasureAsync(good, 50); // warm-up: grain activation, JIT
        var alone = await MeasureAsync(good, Samples);

        using var flood = await rig.Service.ConnectAsync("lat-flood", MqttProtocolVersion.V500, Ct);
        var ingest = rig.Service.Services.GetRequiredService<IngestHandler>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var flooding = Task.Run(async () =>
        {
            var message = new MqttApplicationMessageBuilder().WithTopic("campus/lat/r1/lat-flood/telemetry")
                .WithPayload("{\"temperature\":21.5}"u8.ToArray()).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce).Build();
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await flood.PublishAsync(message, stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException)
            {
            }
        }, CancellationToken.None);
        var floodStart = ingest.MessagesAccepted;
        var clock = Stopwatch.StartNew();
        var flooded = await MeasureAsync(good, Samples);
        var floodRate = (ingest.MessagesAccepted - floodStart - Samples) / clock.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await flooding;

        var line = string.Create(CultureInfo.InvariantCulture,
            $"good device p99 PUBACK: alone {alone:0.00} ms, during a QoS 0 flood {flooded:0.00} ms, factor {flooded / alone:0.0}; flood accepted at {floodRate:0}/s (default limit 2000/s)");
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Console.WriteLine(line);
        Assert.True(alone > 0 && flooded > 0);
    }

    /// <summary>p99 of publish→PUBACK over sequential QoS 1 messages, in milliseconds; every one must be acknowledged.</summary>
    static async Task<double> MeasureAsync(IMqttClient client, int count)
    {
        var latencies = new List<double>(count);
        var message = new MqttApplicationMessageBuilder().WithTopic("campus/lat/r1/lat-good/telemetry")
            .WithPayload("{\"temperature\":21.5}"u8.ToArray()).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var result = await client.PublishAsync(message, Ct);
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            Assert.True(result.IsSuccess);
        }

        latencies.Sort();
        return latencies[(int)Math.Ceiling(0.99 * latencies.Count) - 1];
    }
}
