using System.Runtime.InteropServices;
using System.Text.Unicode;
using MQTTnet.Exceptions;

namespace Telemetry.Broker.Transport;

/// <summary>
/// Follows the MQTT framing of the bytes read through it (fixed header byte, remaining length, body) and fails the
/// read as soon as a packet announces a remaining length above the limit — before MQTTnet allocates a buffer of that
/// size (it would, up to 256 MB, from the length header alone).
/// <para>
/// It also fails the read when the first packet is not CONNECT (MQTT-3.1.0-1: MQTTnet would first try to read a
/// protocol version out of it), and checks the Connect Flags byte of a first packet that is CONNECT, failing the read when they break the
/// specification: the reserved bit set (MQTT-3.1.2-3), will QoS 3 (MQTT-3.1.2-14), will QoS or will retain without
/// the will flag (MQTT-3.1.2-11/13), or — in 3.1.1 — a password without a user name (MQTT-3.1.2-22). These are
/// malformed packets, to be answered by closing the connection. MQTTnet's decoders read them leniently and keep only
/// the decoded fields (a will QoS or retain without a will, or the reserved bit in MQTT 5, are gone by then), so this
/// is the one place that still sees the raw flags: the framing is already followed here byte by byte, and
/// the check costs a few comparisons on the first packet only.
/// </para>
/// <para>
/// For the same reason — MQTTnet's decoders are lenient, and this is the one place that sees each packet's raw bytes —
/// it also refuses, counting each under <c>onRefused</c>:
/// <list type="bullet">
/// <item>fixed-header flags other than the specification's (MQTT-2.1.3-1, MQTT 5 §2.1.3: 0010 for PUBREL, SUBSCRIBE and
///   UNSUBSCRIBE, 0000 for CONNECT, PUBACK, PUBREC, PUBCOMP, PINGREQ, DISCONNECT and AUTH): MQTTnet ignores the low
///   nibble of every type but PUBLISH. One comparison on the first byte of each packet (<c>malformed_packet</c>);</item>
/// <item>a second CONNECT (MQTT-3.1.0-2, a protocol error; <c>protocol_error</c>);</item>
/// <item>a SUBSCRIBE or UNSUBSCRIBE without any topic filter (MQTT-3.8.3-3, MQTT-3.10.3-2), subscription options with
///   QoS 3, reserved bits set or (MQTT 5) retain handling 3 (MQTT-3.8.3-4/5): MQTTnet decodes QoS 3 as is, drops the
///   reserved bits, and accepts an empty filter list (<c>malformed_packet</c>). The bodies of these packets are rare
///   and small, so they are kept whole (within the packet-size limit) and checked when complete;</item>
/// <item>an MQTT 5 PUBLISH with an explicit Topic Alias of 0 (MQTT 5 §3.3.2.3.4, a protocol error): MQTTnet decodes it
///   exactly as no alias, so only the raw properties show it. The head of each MQTT 5 PUBLISH (topic, packet
///   identifier, properties — never the payload) is kept until complete and its properties scanned
///   (<c>protocol_error</c>);</item>
/// <item>a first CONNECT whose client id, will topic or user name is not well-formed UTF-8 (MQTT-1.5.4-1): MQTTnet
///   decodes invalid bytes as U+FFFD, and the connection would then be judged (and refused as bad credentials, or
///   accepted under a mangled id) on a name the client never sent (<c>malformed_connect</c>).</item>
/// </list>
/// A packet refused here is never handed to MQTTnet: the read that completes it fails, and the connection closes.
/// </para>
/// </summary>
public sealed class FrameLimitingStream(Stream inner, int maxRemainingLength, Action<long> onTooLarge, Action<string, string>? onRefused = null) : Stream
{
    enum State
    {
        FixedHeader,
        RemainingLength,
        Body,
    }

    State state = State.FixedHeader;
    long length;
    long multiplier = 1;
    int lengthBytes;
    long bodyLeft;
    bool firstPacket = true;
    bool inspectingConnect;
    long connectAt;
    int protocolNameLength;
    byte protocolLevel;
    byte packetType;
    byte[]? captured;
    bool publishHasPacketId;
    readonly List<byte> publishHead = [];
    bool inspectingPublishHead;
    int capturedAt;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Track(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        Track(buffer.AsSpan(offset, read));
        return read;
    }

    void Track(ReadOnlySpan<byte> data)
    {
        var i = 0;
        while (i < data.Length)
        {
            switch (state)
            {
                case State.FixedHeader:
                    inspectingConnect = firstPacket && (data[i] & 0xF0) == 0x10;
                    if (firstPacket && !inspectingConnect)
                    {
                        var problem = $"the first packet is of type {data[i] >> 4}, not CONNECT";
                        onRefused?.Invoke(ConnectionRefusals.PacketBeforeConnect, problem);
                        throw new MqttProtocolViolationException(problem);
                    }

                    if (FixedHeaderProblem(data[i]) is { } flagsProblem)
                    {
                        Refuse(firstPacket ? ConnectionRefusals.MalformedConnect : ConnectionRefusals.MalformedPacket, flagsProblem);
                    }

                    if (!firstPacket && (data[i] & 0xF0) == 0x10)
                    {
                        Refuse(ConnectionRefusals.ProtocolError, "a second CONNECT on the connection");
                    }

                    packetType = (byte)(data[i] >> 4);
                    publishHasPacketId = (data[i] & 0x06) != 0;
                    i++;
                    state = State.RemainingLength;
                    length = 0;
                    multiplier = 1;
                    lengthBytes = 0;
                    break;

                case State.RemainingLength:
                    var b = data[i++];
                    length += (b & 0x7F) * multiplier;
                    multiplier *= 128;
                    lengthBytes++;
                    if (length > maxRemainingLength)
                    {
                        onTooLarge(length);
                        throw new MqttProtocolViolationException($"packet too large: more than {maxRemainingLength} bytes (Broker:MaxPacketBytes)");
                    }

                    if ((b & 0x80) == 0)
                    {
                        bodyLeft = length;
                        state = length == 0 ? State.FixedHeader : State.Body;
                        captured = inspectingConnect || packetType is 8 or 10 ? new byte[length] : null;
                        inspectingPublishHead = packetType == 3 && protocolLevel == 5 && length > 0;
                        publishHead.Clear();
                        capturedAt = 0;
                        if (length == 0)
                        {
                            CheckCaptured();
                        }

                        firstPacket = false;
                    }
                    else if (lengthBytes == 4)
                    {
                        throw new MqttProtocolViolationException("the remaining length of a packet is malformed");
                    }

                    break;

                case State.Body:
                    var take = (int)Math.Min(bodyLeft, data.Length - i);
                    if (inspectingPublishHead)
                    {
                        InspectPublishHead(data.Slice(i, take));
                    }

                    for (var k = i; inspectingConnect && k < i + take; k++)
                    {
                        InspectConnect(data[k]);
                    }

                    if (captured is not null)
                    {
                        data.Slice(i, take).CopyTo(captured.AsSpan(capturedAt));
                        capturedAt += take;
                    }

                    i += take;
                    bodyLeft -= take;
                    if (bodyLeft == 0)
                    {
                        state = State.FixedHeader;
                        inspectingPublishHead = false; // a head longer than its packet: MQTTnet's decoder refuses it
                        CheckCaptured();
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// Keeps the head of an MQTT 5 PUBLISH (topic, packet identifier, properties; never the payload) until it is
    /// complete, then checks its properties: an explicit Topic Alias of 0 is a protocol error (MQTT 5 §3.3.2.3.4)
    /// that MQTTnet's decoder cannot show — it decodes it exactly as no alias.
    /// </summary>
    void InspectPublishHead(ReadOnlySpan<byte> chunk)
    {
        while (inspectingPublishHead && chunk.Length > 0)
        {
            var need = PublishHeadLength(CollectionsMarshal.AsSpan(publishHead), publishHasPacketId);
            if (need < 0)
            {
                inspectingPublishHead = false; // a malformed properties length: MQTTnet's decoder refuses it
                return;
            }

            var take = Math.Min(need - publishHead.Count, chunk.Length);
            publishHead.AddRange(chunk[..take]);
            chunk = chunk[take..];
            if (publishHead.Count == need && PublishHeadLength(CollectionsMarshal.AsSpan(publishHead), publishHasPacketId) == need)
            {
                inspectingPublishHead = false;
                if (PublishPropertiesProblem(CollectionsMarshal.AsSpan(publishHead), publishHasPacketId) is { } problem)
                {
                    Refuse(ConnectionRefusals.ProtocolError, problem);
                }
            }
        }
    }

    /// <summary>
    /// How many bytes of an MQTT 5 PUBLISH body its head (topic, packet identifier, properties) takes, as far as
    /// <paramref name="head"/> tells so far (read more and ask again while it grows); -1 when the properties length is malformed.
    /// </summary>
    public static int PublishHeadLength(ReadOnlySpan<byte> head, bool hasPacketId)
    {
        if (head.Length < 2)
        {
            return 2;
        }

        var lengthAt = 2 + (head[0] << 8 | head[1]) + (hasPacketId ? 2 : 0);
        int length = 0;
        for (var k = 0; k < 4; k++)
        {
            if (lengthAt + k >= head.Length)
            {
                return lengthAt + k + 1;
            }

            var b = head[lengthAt + k];
            length |= (b & 0x7F) << (7 * k);
            if ((b & 0x80) == 0)
            {
                return lengthAt + k + 1 + length;
            }
        }

        return -1;
    }

    /// <summary>What is wrong with the properties of a complete MQTT 5 PUBLISH head, or null (only the Topic Alias is judged).</summary>
    public static string? PublishPropertiesProblem(ReadOnlySpan<byte> head, bool hasPacketId)
    {
        var reader = new BodyReader(head);
        if (!reader.String(out _) || hasPacketId && !reader.Skip(2) || !reader.VarInt(out var length))
        {
            return null;
        }

        var properties = new BodyReader(reader.Rest[..Math.Min(length, reader.Rest.Length)]);
        while (properties.Byte(out var id))
        {
            if (id == 0x23)
            {
                if (!properties.Byte(out var high) || !properties.Byte(out var low))
                {
                    return null;
                }

                if ((high | low) == 0)
                {
                    return "a PUBLISH with topic alias 0 (MQTT 5 §3.3.2.3.4: a protocol error)";
                }

                continue;
            }

            var read = id switch
            {
                0x01 => properties.Skip(1), // payload format indicator
                0x02 => properties.Skip(4), // message expiry interval
                0x03 or 0x08 or 0x09 => properties.String(out _), // content type, response topic, correlation data
                0x26 => properties.String(out _) && properties.String(out _), // user property
                0x0B => properties.VarInt(out _), // subscription identifier
                _ => false, // not a PUBLISH property: MQTTnet's decoder refuses it
            };
            if (!read)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>A kept packet body is complete: checks it by its type (see the class summary).</summary>
    void CheckCaptured()
    {
        if (captured is not { } body)
        {
            return;
        }

        captured = null;
        var v5 = protocolLevel == 5;
        switch (packetType)
        {
            case 1 when ConnectPayloadProblem(body) is { } problem:
                Refuse(ConnectionRefusals.MalformedConnect, problem);
                break;
            case 8 when SubscribeProblem(body, v5) is { } problem:
                Refuse(ConnectionRefusals.MalformedPacket, problem);
                break;
            case 10 when UnsubscribeProblem(body, v5) is { } problem:
                Refuse(ConnectionRefusals.MalformedPacket, problem);
                break;
        }
    }

    void Refuse(string reason, string problem)
    {
        onRefused?.Invoke(reason, problem);
        throw new MqttProtocolViolationException(problem);
    }

    /// <summary>
    /// What is wrong with the first byte (type and flags) of a packet a client sent, or null. Only the types a client
    /// sends and whose flags are fixed are checked; PUBLISH's flags are its DUP, QoS and RETAIN (QoS 3 is refused where
    /// messages enter), and the types only a server sends are refused by MQTTnet.
    /// </summary>
    public static string? FixedHeaderProblem(byte header)
    {
        var type = header >> 4;
        var flags = header & 0x0F;
        int? required = type switch
        {
            1 or 4 or 5 or 7 or 12 or 14 or 15 => 0,
            6 or 8 or 10 => 2,
            _ => null,
        };
        return required is { } r && flags != r ? $"packet type {type} with fixed-header flags 0x{flags:X1}, which must be 0x{r:X1}" : null;
    }

    /// <summary>What is wrong with the body of a SUBSCRIBE (MQTT 5 when <paramref name="v5"/>), or null.</summary>
    public static string? SubscribeProblem(ReadOnlySpan<byte> body, bool v5)
    {
        var reader = new BodyReader(body);
        if (!reader.Skip(2) || v5 && !reader.SkipProperties())
        {
            return "a SUBSCRIBE cut short before its topic filters";
        }

        var filters = 0;
        while (!reader.AtEnd)
        {
            if (!reader.String(out _) || !reader.Byte(out var options))
            {
                return "a SUBSCRIBE whose topic filter or subscription options are cut short";
            }

            filters++;
            if ((options & 0x03) == 3)
            {
                return "a SUBSCRIBE asking for QoS 3";
            }

            if ((options & (v5 ? 0xC0 : 0xFC)) != 0)
            {
                return $"a SUBSCRIBE with reserved bits set in its subscription options (0x{options:X2})";
            }

            if (v5 && (options >> 4 & 0x03) == 3)
            {
                return "a SUBSCRIBE with retain handling 3";
            }
        }

        return filters == 0 ? "a SUBSCRIBE without any topic filter" : null;
    }

    /// <summary>What is wrong with the body of an UNSUBSCRIBE (MQTT 5 when <paramref name="v5"/>), or null.</summary>
    public static string? UnsubscribeProblem(ReadOnlySpan<byte> body, bool v5)
    {
        var reader = new BodyReader(body);
        if (!reader.Skip(2) || v5 && !reader.SkipProperties())
        {
            return "an UNSUBSCRIBE cut short before its topic filters";
        }

        var filters = 0;
        while (!reader.AtEnd)
        {
            if (!reader.String(out _))
            {
                return "an UNSUBSCRIBE whose topic filter is cut short";
            }

            filters++;
        }

        return filters == 0 ? "an UNSUBSCRIBE without any topic filter" : null;
    }

    /// <summary>
    /// What is wrong with the UTF-8 strings of a CONNECT body (client id, will topic, user name), or null. What MQTTnet
    /// refuses on its own (a protocol name or level it does not know, a body cut short) is left to it.
    /// </summary>
    public static string? ConnectPayloadProblem(ReadOnlySpan<byte> body)
    {
        var reader = new BodyReader(body);
        if (!reader.String(out _) || !reader.Byte(out var level) || !reader.Byte(out var flags) || !reader.Skip(2)
            || level == 5 && !reader.SkipProperties())
        {
            return null;
        }

        if (!reader.String(out var clientId))
        {
            return null;
        }

        if (!Utf8.IsValid(clientId))
        {
            return "the client id is not well-formed UTF-8";
        }

        if ((flags & 0x04) != 0)
        {
            if (level == 5 && !reader.SkipProperties() || !reader.String(out var willTopic) || !reader.String(out _))
            {
                return null;
            }

            if (!Utf8.IsValid(willTopic))
            {
                return "the will topic is not well-formed UTF-8";
            }
        }

        if ((flags & 0x80) != 0 && reader.String(out var userName) && !Utf8.IsValid(userName))
        {
            return "the user name is not well-formed UTF-8";
        }

        return null;
    }

    /// <summary>Reads MQTT's fields off a packet body; each method returns false when the body is too short.</summary>
    ref struct BodyReader(ReadOnlySpan<byte> body)
    {
        readonly ReadOnlySpan<byte> body = body;
        int at;

        public readonly bool AtEnd => at >= body.Length;

        public readonly ReadOnlySpan<byte> Rest => body[at..];

        /// <summary>An MQTT variable byte integer (at most four bytes).</summary>
        public bool VarInt(out int value)
        {
            value = 0;
            for (var k = 0; k < 4; k++)
            {
                if (!Byte(out var b))
                {
                    return false;
                }

                value |= (b & 0x7F) << (7 * k);
                if ((b & 0x80) == 0)
                {
                    return true;
                }
            }

            return false;
        }

        public bool Skip(int count)
        {
            if (body.Length - at < count)
            {
                return false;
            }

            at += count;
            return true;
        }

        public bool Byte(out byte value)
        {
            value = 0;
            if (AtEnd)
            {
                return false;
            }

            value = body[at++];
            return true;
        }

        /// <summary>A two-byte length and that many bytes (MQTT's UTF-8 string and binary data).</summary>
        public bool String(out ReadOnlySpan<byte> value)
        {
            value = default;
            if (!Byte(out var high) || !Byte(out var low) || body.Length - at < (high << 8 | low))
            {
                return false;
            }

            value = body.Slice(at, high << 8 | low);
            at += value.Length;
            return true;
        }

        /// <summary>MQTT 5 properties: a variable byte integer length, then that many bytes.</summary>
        public bool SkipProperties()
        {
            int length = 0, shift = 0;
            byte b;
            do
            {
                if (shift > 21 || !Byte(out b))
                {
                    return false;
                }

                length |= (b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);

            return Skip(length);
        }
    }

    /// <summary>One byte of a first CONNECT's body: protocol name length, name, protocol level, then the flags.</summary>
    void InspectConnect(byte b)
    {
        var at = connectAt++;
        if (at == 0)
        {
            protocolNameLength = b << 8;
        }
        else if (at == 1)
        {
            protocolNameLength |= b;
        }
        else if (at == 2 + protocolNameLength)
        {
            protocolLevel = b;
        }
        else if (at == 3 + protocolNameLength)
        {
            inspectingConnect = false;
            if (ConnectFlagsProblem(b, protocolLevel) is { } problem)
            {
                onRefused?.Invoke(ConnectionRefusals.MalformedConnect, problem);
                throw new MqttProtocolViolationException($"malformed CONNECT: {problem}");
            }
        }
    }

    /// <summary>What is wrong with a CONNECT's flags byte, or null when nothing is.</summary>
    public static string? ConnectFlagsProblem(byte flags, byte protocolLevel)
    {
        var will = (flags & 0x04) != 0;
        var willQos = (flags >> 3) & 0x03;
        var willRetain = (flags & 0x20) != 0;
        return (flags & 0x01) != 0 ? "the reserved connect flag is set"
            : willQos == 3 ? "will QoS 3"
            : !will && (willQos != 0 || willRetain) ? "will QoS or will retain set without the will flag"
            : protocolLevel is 3 or 4 && (flags & 0x40) != 0 && (flags & 0x80) == 0 ? "a password without a user name (MQTT 3.1.1)"
            : null;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
