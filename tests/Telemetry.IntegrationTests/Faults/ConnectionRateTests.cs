using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using Telemetry.Broker;
using Telemetry.IntegrationTests.EndToEnd;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>New connections from one source address beyond Broker:MaxNewConnectionsPerSecondPerAddress (and its burst) are closed at accept and counted.</summary>
public sealed class ConnectionRateTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_burst_of_connections_from_one_address_beyond_the_limit_is_refused_and_counted_then_the_address_may_connect_again()
    {
        // The accepted sockets are held (a long CONNECT deadline) so that only the refused ones are closed.
        await using var rig = await FaultRig.StartAsync(
            ["--Broker:MaxNewConnectionsPerSecondPerAddress=2", "--Broker:NewConnectionBurstPerAddress=5", "--Broker:ConnectTimeout=00:02:00"], Ct);
        var sockets = new List<RawMqtt5>();
        try
        {
            for (var i = 0; i < 30; i++)
            {
                sockets.Add(await RawMqtt5.OpenAsync(rig.Service.MqttPort, Ct));
            }

            var closed = await Task.WhenAll(sockets.Select(s => s.ReadUntilClosedAsync(TimeSpan.FromSeconds(10), Ct)));
            var refused = closed.Count(c => c);
            Assert.True(refused >= 10, $"only {refused} of 30 connections opened at once were refused (2 per second, burst 5)");
            Assert.True(closed.Count(c => !c) >= 5, "the burst was not admitted");
            Assert.Equal(refused, rig.Service.Services.GetRequiredService<ConnectionRefusals>().Count(ConnectionRefusals.ConnectionRate));
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }

        // The bucket refills: the same address connects again.
        using var device = new MqttClientFactory().CreateMqttClient();
        await Poll.UntilAsync("a device from the same address to connect once the rate allows", async () =>
        {
            try
            {
                return (await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", rig.Service.MqttPort)
                    .WithClientId("rate-good").WithTimeout(TimeSpan.FromSeconds(10)).Build(), Ct)).ResultCode;
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException)
            {
                return MqttClientConnectResultCode.ServerUnavailable;
            }
        }, code => code == MqttClientConnectResultCode.Success, within: TimeSpan.FromSeconds(60), every: TimeSpan.FromMilliseconds(500), cancellationToken: Ct);
    }
}
