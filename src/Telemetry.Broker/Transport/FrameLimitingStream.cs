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
                        firstPacket = false;
                    }
                    else if (lengthBytes == 4)
                    {
                        throw new MqttProtocolViolationException("the remaining length of a packet is malformed");
                    }

                    break;

                case State.Body:
                    var take = (int)Math.Min(bodyLeft, data.Length - i);
                    for (var k = i; inspectingConnect && k < i + take; k++)
                    {
                        InspectConnect(data[k]);
                    }

                    i += take;
                    bodyLeft -= take;
                    if (bodyLeft == 0)
                    {
                        state = State.FixedHeader;
                    }

                    break;
            }
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
