using System.Numerics;

namespace Telemetry.DeviceSim.Load;

/// <summary>
/// A log-linear histogram of <see cref="System.Diagnostics.Stopwatch"/> ticks (HDR-like): exact below 256 ticks,
/// above that 128 buckets per power of two, so a bucket is at most 1/128 of its value wide. Recording is one
/// interlocked increment and safe from any thread.
/// </summary>
sealed class LatencyHistogram
{
    const int SubBucketBits = 8;
    const int Direct = 1 << SubBucketBits;          // 256 values counted exactly
    const int Half = Direct / 2;                    // 128 buckets per power of two above
    const int MaxExponent = 46;                     // 2^47 ticks: 39 hours at 1 GHz
    public const int BucketCount = Direct + (MaxExponent - SubBucketBits + 1) * Half;

    readonly long[] _counts = new long[BucketCount];

    public void Record(long ticks) => Interlocked.Increment(ref _counts[Index(ticks)]);

    /// <summary>A copy of the counts (concurrent recording may or may not be included).</summary>
    public long[] Snapshot()
    {
        var copy = new long[BucketCount];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = Volatile.Read(ref _counts[i]);
        }

        return copy;
    }

    /// <summary>The value at <paramref name="quantile"/> (0..1) of counts as returned by <see cref="Snapshot"/> (or their difference): the bucket's middle.</summary>
    public static long ValueAt(ReadOnlySpan<long> counts, long total, double quantile)
    {
        if (total <= 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return Middle(i);
            }
        }

        return Bounds(counts.Length - 1).High;
    }

    /// <summary>The middle of bucket <paramref name="index"/>: within 1/256 of any value counted there.</summary>
    public static long Middle(int index)
    {
        var (low, high) = Bounds(index);
        return low + (high - low) / 2;
    }

    static int Index(long ticks)
    {
        if (ticks < Direct)
        {
            return ticks < 0 ? 0 : (int)ticks;
        }

        var exponent = BitOperations.Log2((ulong)ticks);
        if (exponent > MaxExponent)
        {
            return BucketCount - 1;
        }

        var shift = exponent - (SubBucketBits - 1);
        var mantissa = (int)(ticks >> shift); // Half .. Direct-1
        return Direct + (exponent - SubBucketBits) * Half + (mantissa - Half);
    }

    /// <summary>The smallest and largest value of bucket <paramref name="index"/>.</summary>
    static (long Low, long High) Bounds(int index)
    {
        if (index < Direct)
        {
            return (index, index);
        }

        var exponent = (index - Direct) / Half + SubBucketBits;
        var mantissa = (index - Direct) % Half + Half;
        var shift = exponent - (SubBucketBits - 1);
        var low = (long)mantissa << shift;
        return (low, low + (1L << shift) - 1);
    }
}
