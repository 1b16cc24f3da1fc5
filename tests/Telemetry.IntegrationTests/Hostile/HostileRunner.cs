using System.Net;
using System.Net.Sockets;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using static Telemetry.IntegrationTests.Hostile.MqttBytes;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>What a case did: whether it met its expectation, and what was seen.</summary>
public sealed record CaseResult(HostileCase Case, bool Met, string Observed)
{
    /// <summary>For a scripted case: what its script reported (counts, what must and must not be stored).</summary>
    public ScriptResult? Script { get; init; }
}

/// <summary>
/// Runs hostile cases against the broker: raw-socket cases many at a time (each on its own connection), published
/// cases spread over a few shared MQTTnet connections per protocol version. Checks each case's immediate outcome
/// (PUBACK reason, connection closed or alive, CONNACK); what is stored and counted is checked by the test afterwards.
/// </summary>
public sealed class HostileRunner(int port)
{
    /// <summary>Whether the good device is still connected (for scripts that must not knock it off).</summary>
    public Func<bool> GoodDeviceConnected { get; init; } = () => true;

    static int nextSource;

    /// <summary>
    /// A fresh loopback source address for each raw connection (127.1.0.1, 127.1.0.2, …; Linux routes all of 127/8 to
    /// lo): per-address limits (failed logins, new connections per second) then see each raw case as a device of its
    /// own, as on a campus network, and a case's wrong password never locks out another case.
    /// </summary>
    static IPAddress NextSource()
    {
        var n = Interlocked.Increment(ref nextSource) % (250 * 250);
        return new IPAddress([127, 1, (byte)(n / 250 + 1), (byte)(n % 250 + 1)]);
    }

    /// <summary>Raw-socket cases in flight at once.</summary>
    public const int RawParallelism = 16;

    /// <summary>Shared MQTTnet connections per protocol version for published cases.</summary>
    public const int PublishConnections = 3;

    /// <summary>How long a raw case may take to be answered or closed (generous: the machine is shared).</summary>
    static readonly TimeSpan RawDeadline = TimeSpan.FromSeconds(20);

    public async Task<IReadOnlyList<CaseResult>> RunAsync(IReadOnlyList<HostileCase> cases, CancellationToken ct)
    {
        var raw = cases.Where(c => c.Action is RawAction).ToList();
        var published = cases.Where(c => c.Action is PublishAction).ToList();
        var scripts = cases.Where(c => c.Action is ScriptAction).Select(c => RunScriptAsync(c, ct)).ToList();
        var rawResults = new List<CaseResult>();
        var rawRun = Parallel.ForEachAsync(raw, new ParallelOptions { MaxDegreeOfParallelism = RawParallelism, CancellationToken = ct }, async (c, token) =>
        {
            var result = await RunRawAsync(c, token);
            lock (rawResults)
            {
                rawResults.Add(result);
            }
        });
        var publishRuns = published
            .GroupBy(c => ((PublishAction)c.Action).Version)
            .SelectMany(g => g.Select((c, i) => (c, i)).GroupBy(x => x.i % PublishConnections, x => x.c))
            .Select(lane => RunPublishLaneAsync([.. lane], ct))
            .ToList();
        await rawRun;
        var publishResults = await Task.WhenAll(publishRuns);
        var scriptResults = await Task.WhenAll(scripts);
        return [.. rawResults.Concat(publishResults.SelectMany(r => r)).Concat(scriptResults).OrderBy(r => r.Case.Marker, StringComparer.Ordinal)];
    }

    async Task<CaseResult> RunScriptAsync(HostileCase c, CancellationToken ct)
    {
        var action = (ScriptAction)c.Action;
        await Task.Yield();
        try
        {
            var result = await action.Run(new ScriptContext(port, c, action.Source ?? NextSource(), GoodDeviceConnected, ct));
            return new(c, result.Met, result.Observed) { Script = result };
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new(c, false, $"the script failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    async Task<IReadOnlyList<CaseResult>> RunPublishLaneAsync(IReadOnlyList<HostileCase> lane, CancellationToken ct)
    {
        var results = new List<CaseResult>();
        IMqttClient? client = null;
        try
        {
            foreach (var c in lane)
            {
                var action = (PublishAction)c.Action;
                if (client is not { IsConnected: true })
                {
                    client?.Dispose();
                    client = await ConnectAsync($"hx-lane-{c.Marker}", action.Version, ct);
                }

                results.Add(await PublishAsync(client, c, action, ct));
            }
        }
        finally
        {
            if (client is { IsConnected: true })
            {
                await client.DisconnectAsync(cancellationToken: ct);
            }

            client?.Dispose();
        }

        return results;
    }

    static async Task<CaseResult> PublishAsync(IMqttClient client, HostileCase c, PublishAction action, CancellationToken ct)
    {
        MqttClientPublishResult result;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(RawDeadline);
            result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(action.Topic.Replace("{m}", c.Marker, StringComparison.Ordinal))
                .WithPayload(action.Payload)
                .WithQualityOfServiceLevel(action.Qos)
                .Build(), timeout.Token);
        }
        catch (Exception ex) when (c.Expected.Outcome == Outcome.Closed
            && ex is MQTTnet.Exceptions.MqttClientUnexpectedDisconnectReceivedException or MQTTnet.Exceptions.MqttCommunicationException or MQTTnet.Exceptions.MqttClientNotConnectedException)
        {
            // The broker closed the connection (MQTT 5: after a DISCONNECT with its reason), as the case expects.
            return new(c, !client.IsConnected, $"closed: {ex.GetType().Name}: {ex.Message}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new(c, false, $"the client failed: {ex.GetType().Name}: {ex.Message}");
        }

        var observed = $"PUBACK {(byte)result.ReasonCode:X2} {result.ReasonString}".TrimEnd() + (client.IsConnected ? "" : ", disconnected");
        var e = c.Expected;
        var met = e.Outcome switch
        {
            Outcome.Refused => client.IsConnected
                && (e.Code is { } code
                    ? (byte)result.ReasonCode == code && (result.ReasonString ?? "").StartsWith(e.Reason!, StringComparison.Ordinal)
                    : result.IsSuccess),
            Outcome.Accepted => client.IsConnected && result.IsSuccess,
            _ => false,
        };
        return new(c, met, observed);
    }

    async Task<IMqttClient> ConnectAsync(string clientId, MqttProtocolVersion version, CancellationToken ct)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithClientId(clientId)
            .WithProtocolVersion(version)
            .WithCleanSession(true)
            .WithTimeout(TimeSpan.FromSeconds(30))
            .Build(), ct);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            client.Dispose();
            throw new InvalidOperationException($"the corpus client {clientId} was refused: {result.ResultCode}");
        }

        return client;
    }

    async Task<CaseResult> RunRawAsync(HostileCase c, CancellationToken ct)
    {
        var action = (RawAction)c.Action;
        RawObservation seen;
        try
        {
            seen = await ObserveRawAsync(c.Marker, action, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new(c, false, $"the raw client failed: {ex.GetType().Name}: {ex.Message}");
        }

        var e = c.Expected;
        var refusedAcks = seen.PubAcks.Where(a => a.Code != 0).ToList();
        var met = seen.Setup is null && !seen.TimedOut && e.Outcome switch
        {
            Outcome.Closed => seen.Closed && !seen.Alive && seen.PubAcks.All(a => a.Code != 0),
            Outcome.Ignored => seen.Alive && seen.PubAcks.Count == 0,
            Outcome.Refused => seen.Alive && (e.Code is { } code
                ? seen.PubAcks.Count > 0 && seen.PubAcks.All(a => a.Code == code) && seen.PubAcks.Any(a => a.Reason.StartsWith(e.Reason!, StringComparison.Ordinal))
                : refusedAcks.Count == 0),
            Outcome.ConnectRefused => seen.Closed && seen.ConnAck == e.Code,
            Outcome.SubscribeRefused => seen.Alive && seen.SubAcks.Count > 0 && seen.SubAcks.All(code => code == e.Code),
            Outcome.Accepted => seen.Alive && seen.PubAcks.Count > 0 && refusedAcks.Count == 0,
            _ => false,
        };
        return new(c, met, seen.ToString());
    }

    /// <summary>What the server did on a raw connection.</summary>
    sealed record RawObservation(string? Setup, bool Closed, bool Alive, bool TimedOut, byte? ConnAck, IReadOnlyList<(ushort Id, byte Code, string Reason)> PubAcks)
    {
        /// <summary>The reason codes of the SUBACKs received (one per filter).</summary>
        public List<byte> SubAcks { get; init; } = [];

        public override string ToString()
        {
            if (Setup is not null)
            {
                return Setup;
            }

            var parts = new List<string>();
            if (ConnAck is { } code)
            {
                parts.Add($"CONNACK {code:X2}");
            }

            parts.AddRange(PubAcks.Select(a => $"PUBACK {a.Code:X2} {a.Reason}".TrimEnd()));
            parts.AddRange(SubAcks.Select(code => $"SUBACK {code:X2}"));
            parts.Add(TimedOut ? "no answer and not closed" : Alive ? "alive" : "closed");
            return string.Join(", ", parts);
        }
    }

    async Task<RawObservation> ObserveRawAsync(string marker, RawAction action, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(RawDeadline);
        using var tcp = new TcpClient(new IPEndPoint(NextSource(), 0)) { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, deadline.Token);
        var stream = tcp.GetStream();
        var reader = new PacketReader(stream);
        byte? connAck = null;

        if (action.Start != RawStart.Nothing)
        {
            var v5 = action.Start == RawStart.Mqtt5;
            await stream.WriteAsync(Connect(v5 ? V5 : V311, Utf8(marker), keepAlive: action.KeepAlive), deadline.Token);
            var first = await reader.NextAsync(deadline.Token);
            if (first is not { } p || (p.Header & 0xF0) != 0x20 || p.Body.Length < 2 || p.Body[1] != 0)
            {
                return new($"the valid CONNECT before the case was not accepted ({(first is null ? "closed" : $"packet 0x{first.Value.Header:X2}")})", false, false, false, null, []);
            }
        }

        var closed = false;
        try
        {
            await stream.WriteAsync(action.Packets(marker), deadline.Token);
            if (action.ThenEof)
            {
                tcp.Client.Shutdown(SocketShutdown.Send);
            }
            else if (!action.ThenSilence)
            {
                await stream.WriteAsync(PingReq, deadline.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            closed = true; // the server closed (or reset) the connection while the case was being written
        }

        var acks = new List<(ushort, byte, string)>();
        var subAcks = new List<byte>();
        var alive = false;
        var timedOut = false;
        try
        {
            while (!closed && !alive)
            {
                var packet = await reader.NextAsync(deadline.Token);
                if (packet is not { } p)
                {
                    closed = true;
                    break;
                }

                switch (p.Header & 0xF0)
                {
                    case 0x20:
                        connAck = p.Body.Length >= 2 ? p.Body[1] : (byte)0xFF;
                        break;
                    case 0x40 or 0x50:
                        acks.Add(ReadAck(p.Body));
                        break;
                    case 0x90:
                        subAcks.AddRange(SubAckCodes(p.Body, action.Start != RawStart.Mqtt311));
                        break;
                    case 0xD0:
                        alive = true;
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            timedOut = true;
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            closed = true;
        }

        return new(null, closed, alive, timedOut, connAck, acks) { SubAcks = subAcks };
    }

    /// <summary>The reason codes of a SUBACK body (after the packet identifier and, on MQTT 5, the properties).</summary>
    public static IEnumerable<byte> SubAckCodes(byte[] body, bool v5)
    {
        var at = 2;
        if (v5)
        {
            var (length, next) = ReadVarInt(body, at);
            at = next + length;
        }

        return body.Skip(at);
    }

    static (ushort Id, byte Code, string Reason) ReadAck(byte[] body)
    {
        var id = (ushort)((body[0] << 8) | body[1]);
        if (body.Length <= 2)
        {
            return (id, 0, "");
        }

        var reason = "";
        if (body.Length > 3)
        {
            var (length, at) = ReadVarInt(body, 3);
            var end = Math.Min(body.Length, at + length);
            while (at + 3 <= end)
            {
                var property = body[at++];
                var size = (body[at] << 8) | body[at + 1];
                if (property == 0x1F)
                {
                    reason = Encoding.UTF8.GetString(body, at + 2, Math.Min(size, end - at - 2));
                }

                at += 2 + size;
                if (property == 0x26 && at + 2 <= end)
                {
                    at += 2 + ((body[at] << 8) | body[at + 1]);
                }
            }
        }

        return (id, body[2], reason);
    }

    /// <summary>Reads whole MQTT packets off a stream; null when the server closed it.</summary>
    sealed class PacketReader(NetworkStream stream)
    {
        readonly byte[] one = new byte[1];

        public async Task<(byte Header, byte[] Body)?> NextAsync(CancellationToken ct)
        {
            if (!await ReadByteAsync(ct))
            {
                return null;
            }

            var header = one[0];
            int length = 0, shift = 0;
            do
            {
                if (!await ReadByteAsync(ct))
                {
                    return null;
                }

                length |= (one[0] & 0x7F) << shift;
                shift += 7;
            }
            while ((one[0] & 0x80) != 0 && shift < 28);

            var body = new byte[length];
            try
            {
                await stream.ReadExactlyAsync(body, ct);
            }
            catch (EndOfStreamException)
            {
                return null;
            }

            return (header, body);
        }

        async Task<bool> ReadByteAsync(CancellationToken ct) => await stream.ReadAsync(one, ct) == 1;
    }
}
