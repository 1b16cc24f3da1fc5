using System.Buffers.Text;

namespace Telemetry.DeviceSim.Load;

/// <summary>
/// Writes load-test payloads straight into a reusable byte buffer, without allocating: one reading
/// <c>{"ts":1795860000123,"temperature":21.53,"seq":123,"pad1":0.3141592653589793238462,"pad2":31415926535897}</c>
/// or, for several, a JSON array of them. <c>ts</c> is integer epoch milliseconds; the padding metrics (numbers,
/// named <c>pad1</c>, <c>pad2</c>, …) bring each reading to <see cref="TargetBytes"/> when it is large enough
/// to hold them. Every metric name satisfies the service's contract (not ts/time/building/room/sensor, no '_').
/// </summary>
sealed class LoadPayload
{
    /// <summary>The longest reading without padding: 19-digit ts and seq.</summary>
    const int MaxBareReading = 6 + 19 + 15 + 5 + 7 + 19 + 1;

    /// <summary>Characters one padding value takes at most, unless it is the last allowed padding metric.</summary>
    const int PadChunk = 24;

    /// <summary>Values up to this many characters are integers, longer ones fractions <c>0.ddd…</c> (always finite doubles).</summary>
    const int MaxIntegerDigits = 15;

    const int MaxPadMetrics = LoadOptions.MaxMetricsPerReading - 2;

    static ReadOnlySpan<byte> Digits => "31415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679"u8;

    public LoadPayload(int targetBytes, int readingsPerMessage)
    {
        TargetBytes = targetBytes;
        ReadingsPerMessage = readingsPerMessage;
        Capacity = readingsPerMessage * (Math.Max(targetBytes, MaxBareReading) + 1) + 2;
    }

    public int TargetBytes { get; }
    public int ReadingsPerMessage { get; }

    /// <summary>Bytes a buffer needs for any message.</summary>
    public int Capacity { get; }

    /// <summary>Writes a message of <see cref="ReadingsPerMessage"/> readings stamped <paramref name="firstTs"/>, +1 ms, …; returns its length.</summary>
    public int Write(Span<byte> buffer, long firstTs, long firstSeq)
    {
        if (ReadingsPerMessage == 1)
        {
            return WriteReading(buffer, firstTs, firstSeq);
        }

        buffer[0] = (byte)'[';
        var at = 1;
        for (var i = 0; i < ReadingsPerMessage; i++)
        {
            if (i > 0)
            {
                buffer[at++] = (byte)',';
            }

            at += WriteReading(buffer[at..], firstTs + i, firstSeq + i);
        }

        buffer[at++] = (byte)']';
        return at;
    }

    int WriteReading(Span<byte> buffer, long ts, long seq)
    {
        var at = Append(buffer, 0, "{\"ts\":"u8);
        at += Number(buffer[at..], ts);
        at = Append(buffer, at, ",\"temperature\":"u8);

        // 20.00 .. 24.99 °C in hundredths, varying with seq; written without formatting a double.
        var centi = 2000 + (int)(seq * 37 % 500);
        at += Number(buffer[at..], centi / 100);
        buffer[at++] = (byte)'.';
        buffer[at++] = (byte)('0' + centi / 10 % 10);
        buffer[at++] = (byte)('0' + centi % 10);

        at = Append(buffer, at, ",\"seq\":"u8);
        at += Number(buffer[at..], seq);

        // Room left for padding before the closing brace.
        var remaining = TargetBytes - at - 1;
        for (var pad = 1; pad <= MaxPadMetrics; pad++)
        {
            var nameLength = 7 + (pad < 10 ? 1 : 2); // ,"padN":
            var available = remaining - nameLength;
            if (available < 1)
            {
                break;
            }

            // Take a chunk, or everything when what would be left could not hold another padding metric.
            var take = pad == MaxPadMetrics || available - PadChunk < nameLength + 1 ? available : PadChunk;
            at = Append(buffer, at, ",\"pad"u8);
            at += Number(buffer[at..], pad);
            at = Append(buffer, at, "\":"u8);
            at += PadValue(buffer[at..], take);
            remaining -= nameLength + take;
        }

        buffer[at++] = (byte)'}';
        return at;
    }

    /// <summary>A JSON number of exactly <paramref name="length"/> characters: digits, or <c>0.</c> and digits.</summary>
    static int PadValue(Span<byte> buffer, int length)
    {
        var at = 0;
        if (length > MaxIntegerDigits)
        {
            at = Append(buffer, at, "0."u8);
        }

        while (at < length)
        {
            var chunk = Digits[..Math.Min(Digits.Length, length - at)];
            chunk.CopyTo(buffer[at..]);
            at += chunk.Length;
        }

        return length;
    }

    static int Append(Span<byte> buffer, int at, ReadOnlySpan<byte> text)
    {
        text.CopyTo(buffer[at..]);
        return at + text.Length;
    }

    static int Number(Span<byte> buffer, long value)
    {
        Utf8Formatter.TryFormat(value, buffer, out var written);
        return written;
    }
}
