using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Telemetry.Storage.Spool;

/// <summary>
/// One record of a spool segment: the lines of one accepted message.
/// <code>
/// [int32 payload length][int32 line count][int64 appended at, Unix ms][uint32 CRC-32 of the 16 bytes before and the payload][payload]
/// </code>
/// The payload is the UTF-8 lines joined by '\n'. Little-endian. A record whose length or CRC does not check out
/// ends the readable part of a segment (a torn tail after a crash: it was never acknowledged).
/// </summary>
public static class SpoolRecord
{
    public const int HeaderSize = 20;
    public const int MaxPayloadBytes = 64 << 20;

    public static byte[] EncodePayload(IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var length = lines.Count - 1;
        foreach (var line in lines)
        {
            length += Encoding.UTF8.GetByteCount(line);
        }

        var payload = new byte[length];
        var at = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            if (i > 0)
            {
                payload[at++] = (byte)'\n';
            }

            at += Encoding.UTF8.GetBytes(lines[i], payload.AsSpan(at));
        }

        return payload;
    }

    public static int Write(Span<byte> destination, ReadOnlySpan<byte> payload, int lineCount, long appendedAtMs)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, payload.Length);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], lineCount);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], appendedAtMs);
        var crc = new Crc32();
        crc.Append(destination[..16]);
        crc.Append(payload);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], crc.GetCurrentHashAsUInt32());
        payload.CopyTo(destination[HeaderSize..]);
        return HeaderSize + payload.Length;
    }

    /// <summary>Reads the header at the start of <paramref name="buffer"/>; false when it cannot be a record.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> buffer, out int payloadLength, out int lineCount, out long appendedAtMs)
    {
        payloadLength = BinaryPrimitives.ReadInt32LittleEndian(buffer);
        lineCount = BinaryPrimitives.ReadInt32LittleEndian(buffer[4..]);
        appendedAtMs = BinaryPrimitives.ReadInt64LittleEndian(buffer[8..]);
        return payloadLength is > 0 and <= MaxPayloadBytes && lineCount > 0;
    }

    /// <summary>True when the CRC of a whole record (header and payload) checks out.</summary>
    public static bool IsIntact(ReadOnlySpan<byte> record)
    {
        var expected = BinaryPrimitives.ReadUInt32LittleEndian(record[16..]);
        var crc = new Crc32();
        crc.Append(record[..16]);
        crc.Append(record[HeaderSize..]);
        return crc.GetCurrentHashAsUInt32() == expected;
    }

    public static string[] DecodeLines(ReadOnlySpan<byte> payload, int lineCount)
    {
        var text = Encoding.UTF8.GetString(payload);
        var lines = text.Split('\n');
        return lines.Length == lineCount
            ? lines
            : throw new InvalidDataException($"a spool record holds {lines.Length} lines where its header says {lineCount}");
    }
}
