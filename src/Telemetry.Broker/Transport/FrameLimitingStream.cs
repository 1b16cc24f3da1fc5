using MQTTnet.Exceptions;

namespace Telemetry.Broker.Transport;

/// <summary>
/// Follows the MQTT framing of the bytes read through it (fixed header byte, remaining length, body) and fails the
/// read as soon as a packet announces a remaining length above the limit — before MQTTnet allocates a buffer of that
/// size (it would, up to 256 MB, from the length header alone).
/// </summary>
public sealed class FrameLimitingStream(Stream inner, int maxRemainingLength, Action<long> onTooLarge) : Stream
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
                    }
                    else if (lengthBytes == 4)
                    {
                        throw new MqttProtocolViolationException("the remaining length of a packet is malformed");
                    }

                    break;

                case State.Body:
                    var take = (int)Math.Min(bodyLeft, data.Length - i);
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
