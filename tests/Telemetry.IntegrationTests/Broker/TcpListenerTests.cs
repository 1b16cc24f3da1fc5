using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Server;
using Telemetry.Broker.Transport;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>The broker's own TCP listener, on a real loopback socket; socket state read from the kernel (Linux).</summary>
public sealed class TcpListenerTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Accepted_connections_have_tcp_keep_alive()
    {
        var port = FreePort.Get();
        var accepted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new LimitedTcpServerAdapter(new IPEndPoint(IPAddress.Loopback, port), 16, 65536, (_, _) => { })
        {
            ClientHandler = _ =>
            {
                accepted.TrySetResult();
                return release.Task;
            },
        };
        await listener.StartAsync(new MqttServerOptionsBuilder().Build(), MqttNetNullLogger.Instance);
        try
        {
            using var client = new TcpClient(AddressFamily.InterNetwork);
            await client.ConnectAsync(IPAddress.Loopback, port, Ct);
            await accepted.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);
            var clientPort = ((IPEndPoint)client.Client.LocalEndPoint!).Port;

            var server = TcpTimer(localPort: port, remotePort: clientPort);
            Assert.True(server.Kind == KeepAliveTimer,
                $"the broker's side of the connection should run the keep-alive timer (2), has timer {server.Kind}");
            Assert.InRange(server.Remaining, TimeSpan.FromSeconds(1), LimitedTcpServerAdapter.KeepAliveIdle);

            // The client's side, without keep-alive, shows that the check tells the two apart.
            Assert.Equal(0, TcpTimer(localPort: clientPort, remotePort: port).Kind);
        }
        finally
        {
            release.TrySetResult();
            await listener.StopAsync();
        }
    }

    /// <summary>Timer kind 2 in /proc/net/tcp: on an established connection, the keep-alive timer is pending.</summary>
    const int KeepAliveTimer = 2;

    /// <summary>
    /// The pending timer of the established loopback IPv4 connection between the two ports, from /proc/net/tcp:
    /// "sl local rem st tx:rx tr:when …", ports in hex, <c>when</c> in clock ticks (USER_HZ, 100 per second).
    /// </summary>
    static (int Kind, TimeSpan Remaining) TcpTimer(int localPort, int remotePort)
    {
        var local = $"0100007F:{localPort:X4}";
        var remote = $"0100007F:{remotePort:X4}";
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (string.Equals(fields[1], local, StringComparison.Ordinal) && string.Equals(fields[2], remote, StringComparison.Ordinal)
                && string.Equals(fields[3], "01", StringComparison.Ordinal))
            {
                var timer = fields[5].Split(':');
                return (int.Parse(timer[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    TimeSpan.FromSeconds(long.Parse(timer[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture) / 100.0));
            }
        }

        throw new Xunit.Sdk.XunitException($"no established connection {local} → {remote} in /proc/net/tcp");
    }
}
