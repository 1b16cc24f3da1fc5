using System.Net;
using System.Net.Sockets;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Server;

namespace Telemetry.Broker.Transport;

/// <summary>
/// The broker's TCP listener. It does what MQTTnet's own TCP adapter does for a plain (non-TLS) IPv4/IPv6 endpoint —
/// accept, build <see cref="MqttChannelAdapter"/> over <see cref="MqttTcpChannel"/> — with one difference: the socket
/// stream is wrapped in a <see cref="FrameLimitingStream"/>, so that a packet larger than
/// <c>Broker:MaxPacketBytes</c> closes its connection before MQTTnet allocates it. MQTTnet 5 has no server-side
/// packet size limit and no other place to put one (its adapters construct the stream privately).
/// Accept errors (e.g. out of file descriptors) back off instead of spinning.
/// </summary>
public sealed class LimitedTcpServerAdapter(IPAddress address, int port, int maxPacketBytes, Action<EndPoint?, long> onTooLarge) : IMqttServerAdapter
{
    Socket? listener;
    CancellationTokenSource? stopping;
    Task? acceptLoop;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(address, port));
        socket.Listen(options.DefaultEndpointOptions.ConnectionBacklog);
        listener = socket;
        stopping = new CancellationTokenSource();
        acceptLoop = Task.Run(() => AcceptAsync(options, logger, stopping.Token));
        return Task.CompletedTask;
    }

    async Task AcceptAsync(MqttServerOptions options, IMqttNetLogger logger, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener!.AcceptAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                logger.Publish(MqttNetLogLevel.Error, nameof(LimitedTcpServerAdapter), "Error while accepting a TCP connection: {0}", [ex.Message], null!);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), ct); // out of descriptors or buffers: do not spin
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            _ = Task.Run(() => HandleAsync(client, options, logger), CancellationToken.None);
        }
    }

    async Task HandleAsync(Socket socket, MqttServerOptions options, IMqttNetLogger logger)
    {
        var remote = socket.RemoteEndPoint;
        socket.NoDelay = options.DefaultEndpointOptions.NoDelay;
        var stream = new FrameLimitingStream(new NetworkStream(socket, ownsSocket: true), maxPacketBytes, length => onTooLarge(remote, length));
        try
        {
            var channel = new MqttTcpChannel(stream, socket.LocalEndPoint!, remote!, null!);
            var formatter = new MqttPacketFormatterAdapter(new MqttBufferWriter(options.WriterBufferSize, options.WriterBufferSizeMax));
            using var adapter = new MqttChannelAdapter(channel, formatter, logger)
            {
                AllowPacketFragmentation = options.DefaultEndpointOptions.AllowPacketFragmentation,
            };
            if (ClientHandler is { } handler)
            {
                await handler(adapter);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException)
        {
            logger.Publish(MqttNetLogLevel.Warning, nameof(LimitedTcpServerAdapter), "Connection from {0} ended: {1}", [remote!, ex.Message], null!);
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    public async Task StopAsync()
    {
        if (stopping is not null)
        {
            await stopping.CancelAsync();
        }

        listener?.Dispose();
        if (acceptLoop is not null)
        {
            await acceptLoop;
        }
    }

    public void Dispose()
    {
        stopping?.Cancel();
        listener?.Dispose();
        stopping?.Dispose();
    }
}
