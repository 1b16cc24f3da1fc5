using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using Telemetry.Broker;
using Telemetry.IntegrationTests.EndToEnd;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>
/// Sockets count against Broker:MaxConnections from the TCP accept, not from CONNECT, and are closed when no CONNECT
/// comes within Broker:ConnectTimeout; idle connections are closed after 1.5 × the keep-alive, which is capped at
/// Broker:MaxKeepAlive also for clients that ask for none (0) or 65,535. Raw sockets, since clients send CONNECT at once.
/// </summary>
public sealed class ConnectionDeadlineTests(ConnectionDeadlineTests.Rig rig) : IClassFixture<ConnectionDeadlineTests.Rig>
{
    const int MaxConnections = 4;
    const int MaxKeepAlive = 2;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    public sealed class Rig : IAsyncLifetime
    {
        FaultRig? rig;

        public TelemetryServiceHost Service => rig!.Service;

        public async ValueTask InitializeAsync() => rig = await FaultRig.StartAsync(
            [$"--Broker:MaxConnections={MaxConnections}", "--Broker:ConnectTimeout=00:00:05", $"--Broker:MaxKeepAlive={MaxKeepAlive}"],
            CancellationToken.None);

        public async ValueTask DisposeAsync()
        {
            if (rig is not null)
            {
                await rig.DisposeAsync();
            }
        }
    }

    public static TheoryData<string, byte[]> PartialConnects() => new()
    {
        { "fixed header only", [0x10] },
        { "length announced, nothing more", [0x10, 0xC8, 0x01] },
        { "200 bytes announced, 10 sent", [0x10, 0xC8, 0x01, 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 5, 0x02, 0, 60] },
    };

    /// <summary>Slow-loris before CONNECT: a first packet begun and never finished is closed by the same deadline.</summary>
    [Theory]
    [MemberData(nameof(PartialConnects))]
    public async Task A_CONNECT_whose_announced_length_never_arrives_is_closed_at_the_deadline_and_counted(string name, byte[] bytes)
    {
        var before = await ConnectTimeoutsAsync();
        using var raw = await RawMqtt5.OpenAsync(rig.Service.MqttPort, Ct);
        await raw.SendAsync(bytes, Ct);

        Assert.True(await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(60), Ct), $"the connection stayed open ({name})");
        await Poll.UntilAsync("the CONNECT timeout to be counted", ConnectTimeoutsAsync, n => n >= before + 1, cancellationToken: Ct);
    }

    [Fact]
    public async Task Sockets_that_never_send_CONNECT_are_closed_after_the_deadline_and_counted()
    {
        var before = await ConnectTimeoutsAsync();
        var idle = new List<RawMqtt5>();
        for (var i = 0; i < 3; i++)
        {
            idle.Add(await RawMqtt5.OpenAsync(rig.Service.MqttPort, Ct));
        }

        try
        {
            var closed = await Task.WhenAll(idle.Select(s => s.ReadUntilClosedAsync(TimeSpan.FromSeconds(60), Ct)));
            Assert.All(closed, Assert.True);
            await Poll.UntilAsync("the three CONNECT timeouts to be counted", ConnectTimeoutsAsync, n => n >= before + 3, cancellationToken: Ct);
            await Poll.UntilAsync("their places under the limit to be free again", () => Task.FromResult(Open.Count), n => n == 0, cancellationToken: Ct);
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Idle_sockets_hold_places_under_the_limit_until_the_deadline_frees_them_for_a_good_device()
    {
        var idle = new List<RawMqtt5>();
        try
        {
            for (var i = 0; i < MaxConnections; i++)
            {
                idle.Add(await RawMqtt5.OpenAsync(rig.Service.MqttPort, Ct));
            }

            await Poll.UntilAsync($"{MaxConnections} sockets to hold the connection places", () => Task.FromResult(Open.Count), n => n == MaxConnections, cancellationToken: Ct);
            var refusedBefore = Refusals.Count(ConnectionRefusals.TooManyConnections);

            using (var refused = new MqttClientFactory().CreateMqttClient())
            {
                await Assert.ThrowsAnyAsync<MQTTnet.Exceptions.MqttCommunicationException>(() => refused.ConnectAsync(Options("deadline-good"), Ct));
            }

            Assert.Equal(refusedBefore + 1, Refusals.Count(ConnectionRefusals.TooManyConnections));

            // The idle sockets reach their CONNECT deadline and are closed: the good device gets in.
            using var good = new MqttClientFactory().CreateMqttClient();
            await Poll.UntilAsync("the good device to connect once the idle sockets are closed", async () =>
            {
                try
                {
                    return (await good.ConnectAsync(Options("deadline-good"), Ct)).ResultCode;
                }
                catch (MQTTnet.Exceptions.MqttCommunicationException)
                {
                    return MqttClientConnectResultCode.ServerUnavailable;
                }
            }, code => code == MqttClientConnectResultCode.Success, within: TimeSpan.FromSeconds(60), every: TimeSpan.FromMilliseconds(200), cancellationToken: Ct);
            Assert.True(good.IsConnected);
            await good.DisconnectAsync(cancellationToken: Ct);
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    [Theory]
    [InlineData(5, 0)]
    [InlineData(5, 65535)]
    [InlineData(4, 0)]
    [InlineData(4, 65535)]
    public async Task An_idle_connection_asking_for_no_or_a_huge_keep_alive_is_closed_after_the_maximum(byte level, ushort keepAlive)
    {
        using var raw = await RawMqtt5.ConnectAsync(rig.Service.MqttPort, $"ka-{level}-{keepAlive}", Ct, keepAlive, level);
        if (level == 5)
        {
            Assert.Equal(MaxKeepAlive, raw.ServerKeepAlive); // told in CONNACK (MQTT 5 Server Keep Alive)
        }

        Assert.True(await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(60), Ct),
            $"an idle connection with keep-alive {keepAlive} stayed open although Broker:MaxKeepAlive is {MaxKeepAlive} s");
    }

    [Fact]
    public async Task A_keep_alive_within_the_maximum_is_left_as_the_client_asked()
    {
        using var raw = await RawMqtt5.ConnectAsync(rig.Service.MqttPort, "ka-within", Ct, keepAlive: 1);
        Assert.Equal(0, raw.ServerKeepAlive);
    }

    OpenConnections Open => rig.Service.Services.GetRequiredService<OpenConnections>();

    ConnectionRefusals Refusals => rig.Service.Services.GetRequiredService<ConnectionRefusals>();

    // This service's own count: the metrics endpoint reads meters by name, and other services in this test process share it.
    Task<long> ConnectTimeoutsAsync() => Task.FromResult(Refusals.Count(ConnectionRefusals.ConnectTimeout));

    MqttClientOptions Options(string clientId) => new MqttClientOptionsBuilder()
        .WithTcpServer("127.0.0.1", rig.Service.MqttPort).WithClientId(clientId)
        .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(10)).Build();
}
