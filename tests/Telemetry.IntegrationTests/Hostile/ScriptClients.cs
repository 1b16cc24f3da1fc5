using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using static Telemetry.IntegrationTests.Hostile.MqttBytes;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>Clients for scripted cases: MQTTnet and raw sockets, each connecting from the script's own loopback address.</summary>
internal static class ScriptClients
{
    /// <summary>How long a script waits for an answer or a close (generous: the machine is shared).</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>An MQTTnet client logged in as <paramref name="user"/> (anonymous when null); throws when refused.</summary>
    public static async Task<IMqttClient> ConnectAsync(ScriptContext context, string clientId, string? user = null, string? password = null,
        MqttProtocolVersion version = MqttProtocolVersion.V500)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", context.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(version)
            .WithCleanSession(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(3))
            .WithTimeout(Deadline);
        if (user is not null)
        {
            builder = builder.WithCredentials(user, password);
        }

        var options = builder.Build();
        ((MqttClientTcpOptions)options.ChannelOptions).LocalEndpoint = new IPEndPoint(context.Source, 0);
        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(options, context.Ct);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            client.Dispose();
            throw new InvalidOperationException($"{clientId} ({user ?? "anonymous"}) was refused: {result.ResultCode}");
        }

        return client;
    }

    public static Task<MqttClientPublishResult> PublishAsync(IMqttClient client, string topic, string payload, CancellationToken ct,
        MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce) =>
        client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(payload))
            .WithQualityOfServiceLevel(qos).Build(), ct);

    /// <summary>Whether a PUBACK is the refusal expected: reason code and a reason string starting with the reason.</summary>
    public static bool IsRefusal(MqttClientPublishResult result, string reason, byte code) =>
        (byte)result.ReasonCode == code && (result.ReasonString ?? "").StartsWith(reason, StringComparison.Ordinal);

    public static string Show(MqttClientPublishResult result) => $"PUBACK {(byte)result.ReasonCode:X2} {result.ReasonString}".TrimEnd();

    public static async Task DisposeAsync(IMqttClient client)
    {
        if (client.IsConnected)
        {
            await client.DisconnectAsync();
        }

        client.Dispose();
    }

    /// <summary>A raw CONNECT from <paramref name="source"/>: the CONNACK's reason code, or null when the connection closed without one.</summary>
    public static async Task<byte?> ConnAckAsync(int port, IPAddress source, byte[] connect, CancellationToken ct)
    {
        using var raw = await RawClient.OpenAsync(port, source, ct);
        await raw.SendAsync(connect);
        var packet = await raw.NextAsync();
        return packet is { } p && (p.Header & 0xF0) == 0x20 && p.Body.Length >= 2 ? p.Body[1] : null;
    }
}

/// <summary>A raw TCP connection to the broker from a given loopback address, reading whole MQTT packets, with a deadline.</summary>
internal sealed class RawClient : IDisposable
{
    readonly TcpClient tcp;
    readonly NetworkStream stream;
    readonly CancellationTokenSource deadline;
    readonly byte[] one = new byte[1];

    RawClient(TcpClient tcp, CancellationTokenSource deadline)
    {
        this.tcp = tcp;
        this.deadline = deadline;
        stream = tcp.GetStream();
    }

    /// <summary>Since the TCP connection was made.</summary>
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    public CancellationToken Token => deadline.Token;

    public static async Task<RawClient> OpenAsync(int port, IPAddress source, CancellationToken ct, TimeSpan? within = null)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(within ?? ScriptClients.Deadline);
        var tcp = new TcpClient(new IPEndPoint(source, 0)) { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, port, deadline.Token);
        }
        catch
        {
            tcp.Dispose();
            deadline.Dispose();
            throw;
        }

        return new RawClient(tcp, deadline);
    }

    /// <summary>Sends bytes; false when the server has closed (or reset) the connection.</summary>
    public async Task<bool> SendAsync(byte[] bytes)
    {
        try
        {
            await stream.WriteAsync(bytes, deadline.Token);
            return true;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>The next packet, or null when the server closed the connection. Throws when the deadline passes.</summary>
    public async Task<(byte Header, byte[] Body)?> NextAsync()
    {
        try
        {
            if (!await ReadByteAsync())
            {
                return null;
            }

            var header = one[0];
            int length = 0, shift = 0;
            do
            {
                if (!await ReadByteAsync())
                {
                    return null;
                }

                length |= (one[0] & 0x7F) << shift;
                shift += 7;
            }
            while ((one[0] & 0x80) != 0 && shift < 28);

            var body = new byte[length];
            await stream.ReadExactlyAsync(body, deadline.Token);
            return (header, body);
        }
        catch (Exception ex) when (ex is IOException or SocketException or EndOfStreamException)
        {
            return null;
        }
    }

    /// <summary>Reads until the server closes the connection; the packets it sent before (e.g. a DISCONNECT).</summary>
    public async Task<List<(byte Header, byte[] Body)>> UntilClosedAsync()
    {
        var packets = new List<(byte, byte[])>();
        while (await NextAsync() is { } p)
        {
            packets.Add(p);
        }

        return packets;
    }

    async Task<bool> ReadByteAsync() => await stream.ReadAsync(one, deadline.Token) == 1;

    /// <summary>The MQTT 5 CONNACK property Server Keep Alive (0x13), or null.</summary>
    public static ushort? ServerKeepAlive(byte[] connAckBody)
    {
        if (connAckBody.Length < 3)
        {
            return null;
        }

        var (length, at) = ReadVarInt(connAckBody, 2);
        var end = Math.Min(connAckBody.Length, at + length);
        while (at < end)
        {
            var id = connAckBody[at++];
            switch (id)
            {
                case 0x13:
                    return (ushort)((connAckBody[at] << 8) | connAckBody[at + 1]);
                case 0x11 or 0x27: // four-byte integers
                    at += 4;
                    break;
                case 0x21 or 0x22: // two-byte integers
                    at += 2;
                    break;
                case 0x24 or 0x25 or 0x28 or 0x29 or 0x2A: // bytes
                    at += 1;
                    break;
                case 0x26: // user property: two strings
                    at += 2 + ((connAckBody[at] << 8) | connAckBody[at + 1]);
                    at += 2 + ((connAckBody[at] << 8) | connAckBody[at + 1]);
                    break;
                default: // strings and binary data (0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F)
                    at += 2 + ((connAckBody[at] << 8) | connAckBody[at + 1]);
                    break;
            }
        }

        return null;
    }

    public void Dispose()
    {
        tcp.Dispose();
        deadline.Dispose();
    }
}
