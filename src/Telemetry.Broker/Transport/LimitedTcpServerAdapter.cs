using System.Net;
using System.Net.Sockets;
using MQTTnet.Adapter;
using MQTTnet.Channel;
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
/// Accept errors (e.g. out of file descriptors) back off instead of spinning. With <see cref="Tls"/> set it is the TLS
/// listener: the handshake runs first, and the size limit reads the decrypted stream.
/// </summary>
/// <remarks>
/// The listener takes its address, port and backlog from the constructor (<c>Broker:Host</c>, <c>Broker:Port</c>,
/// <c>Broker:ConnectionBacklog</c>). Of <see cref="MqttServerOptions.DefaultEndpointOptions"/> it reads only what
/// concerns one connection's channel (<c>NoDelay</c>, <c>AllowPacketFragmentation</c>), left at MQTTnet's defaults;
/// the endpoint's bound addresses, port, backlog, <c>ReuseAddress</c>, <c>KeepAlive</c>, <c>TcpKeepAlive*</c> and
/// <c>LingerState</c> are read only by MQTTnet's own TCP adapter, which this one replaces, so they are not set.
/// Deliberately not copied from MQTTnet: its default linger (on, 0 s), which resets a connection on close instead of
/// sending what is queued (a CONNACK or DISCONNECT with the reason) first.
/// </remarks>
public sealed class LimitedTcpServerAdapter(IPEndPoint endpoint, int backlog, int maxPacketBytes, Action<EndPoint?, long> onTooLarge) : IMqttServerAdapter
{
    /// <summary>
    /// TCP keep-alive on every accepted connection: probes after this long without traffic, …
    /// </summary>
    /// <remarks>
    /// A device that loses power or network sends no FIN or RST, and an ingest-only connection gets nothing from the
    /// broker that would fail, so its socket stays open. MQTTnet's keep-alive monitor closes it after 1.5 × the keep-alive
    /// the client asked for, and never when it asked for 0 (which MQTT allows). Until then the dead connection holds a
    /// file descriptor and a place under <c>Broker:MaxConnections</c>, its Last Will is not published and its sensor is
    /// not told of the disconnect. With these probes the kernel gives such a connection up within
    /// <see cref="KeepAliveIdle"/> + <see cref="KeepAliveProbes"/> × <see cref="KeepAliveInterval"/> (about 4 minutes;
    /// Linux's default idle time alone is 2 hours); a live but quiet device answers the probes and costs nothing else.
    /// </remarks>
    public static readonly TimeSpan KeepAliveIdle = TimeSpan.FromMinutes(2);

    /// <summary>… then this often …</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(30);

    /// <summary>… and closes the connection after this many probes go unanswered.</summary>
    public const int KeepAliveProbes = 4;

    Socket? listener;
    CancellationTokenSource? stopping;
    Task? acceptLoop;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    /// <summary>When set, this is a TLS listener: each connection completes this handshake before MQTT is read from it.</summary>
    public TlsHandshake? Tls { get; init; }

    /// <summary>
    /// Admits or refuses each accepted socket (connection limit, new connections per address) and holds its place
    /// until it closes; none: every socket is taken.
    /// </summary>
    public ConnectionGate? Gate { get; init; }

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // A restart after a crash binds again despite the previous process's connections in TIME_WAIT.
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(endpoint);
        socket.Listen(backlog);
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

            IDisposable? place = null;
            if (Gate is { } gate && (place = gate.TryAdmit(client)) is null)
            {
                client.Dispose(); // refused at once: counted by the gate
                continue;
            }

            _ = Task.Run(async () =>
            {
                try
                {
                    await HandleAsync(client, options, logger);
                }
                finally
                {
                    place?.Dispose();
                }
            }, CancellationToken.None);
        }
    }

    /// <summary>
    /// Serves one accepted socket and always closes it: whatever fails — a socket option on a connection already reset,
    /// an unexpected exception in the TLS handshake or in MQTTnet — the descriptor is released now, not when the GC
    /// finds the socket (a flood of such failures would otherwise exhaust the descriptors the connection limit guards).
    /// </summary>
    async Task HandleAsync(Socket socket, MqttServerOptions options, IMqttNetLogger logger)
    {
        try
        {
            await ServeAsync(socket, options, logger);
        }
        catch (Exception ex)
        {
            // Out of memory included: it ends this connection, not the listener (this task is not awaited by anyone).
            logger.Publish(MqttNetLogLevel.Warning, nameof(LimitedTcpServerAdapter), "Connection ended by an unexpected error: {0}", [ex.Message], null!);
        }
        finally
        {
            socket.Dispose(); // idempotent: usually already closed with its stream
        }
    }

    async Task ServeAsync(Socket socket, MqttServerOptions options, IMqttNetLogger logger)
    {
        var remote = socket.RemoteEndPoint;
        socket.NoDelay = options.DefaultEndpointOptions.NoDelay;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)KeepAliveIdle.TotalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)KeepAliveInterval.TotalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, KeepAliveProbes);
        Stream transport = new NetworkStream(socket, ownsSocket: true);
        TlsSession? tls = null;
        if (Tls is { } handshake && (tls = await handshake.AuthenticateAsync(transport, remote)) is null)
        {
            return; // refused or failed: counted, logged and closed by the handshake
        }

        // The limit reads the decrypted bytes: every protection of the plain listener applies over TLS too.
        var stream = new FrameLimitingStream(tls?.Stream ?? transport, maxPacketBytes, length => onTooLarge(remote, length),
            (reason, detail) => Gate?.Refused(reason, remote, detail));
        try
        {
            IMqttChannel channel = new MqttTcpChannel(stream, socket.LocalEndPoint!, remote!, tls?.ClientCertificate!);
            channel = tls is null ? channel : new SecureChannel(channel);
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
