using System.Diagnostics;

namespace Telemetry.DeviceSim.Load;

/// <summary>
/// Publish→PUBACK latencies. Every sample goes into a shared histogram (for the per-second p99); samples of the
/// measured window are also kept exactly, each publish loop in its own <see cref="LatencySlot"/> (no locking), up
/// to a total budget. Within the budget the final percentiles are exact; beyond it they come from a second
/// histogram that holds the measured window only.
/// </summary>
sealed class LatencyRecorder(int maxExactSamples)
{
    long _exactReserved;
    volatile bool _exactOverflowed;
    long _measuredMax;

    /// <summary>Every acknowledged publish, warm-up included.</summary>
    public LatencyHistogram All { get; } = new();

    /// <summary>Acknowledged publishes of the measured window.</summary>
    public LatencyHistogram Measured { get; } = new();

    public LatencySlot CreateSlot() => new(this);

    public void Record(LatencySlot slot, long ticks, bool measured)
    {
        All.Record(ticks);
        if (!measured)
        {
            return;
        }

        Measured.Record(ticks);
        var max = Volatile.Read(ref _measuredMax);
        while (ticks > max)
        {
            var seen = Interlocked.CompareExchange(ref _measuredMax, ticks, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }

        if (!_exactOverflowed)
        {
            slot.Add(ticks);
        }
    }

    /// <summary>Percentiles of the measured window, exact when every sample fit the budget.</summary>
    public LatencySummary Summarize(IEnumerable<LatencySlot> slots)
    {
        var counts = Measured.Snapshot();
        long total = 0;
        foreach (var count in counts)
        {
            total += count;
        }

        if (total == 0)
        {
            return LatencySummary.Empty;
        }

        if (!_exactOverflowed)
        {
            var samples = new long[total];
            var filled = 0;
            foreach (var slot in slots)
            {
                filled += slot.CopyTo(samples.AsSpan(filled));
            }

            if (filled == total)
            {
                Array.Sort(samples);
                double sum = 0;
                foreach (var sample in samples)
                {
                    sum += sample;
                }

                return new LatencySummary(
                    Ms(Exact(samples, 0.50)), Ms(Exact(samples, 0.95)), Ms(Exact(samples, 0.99)), Ms(Exact(samples, 0.999)),
                    Ms(samples[^1]), Ms(sum / total), total, Exact: true);
            }
        }

        double weighted = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            weighted += counts[i] * (double)LatencyHistogram.Middle(i);
        }

        return new LatencySummary(
            Ms(LatencyHistogram.ValueAt(counts, total, 0.50)), Ms(LatencyHistogram.ValueAt(counts, total, 0.95)),
            Ms(LatencyHistogram.ValueAt(counts, total, 0.99)), Ms(LatencyHistogram.ValueAt(counts, total, 0.999)),
            Ms(Interlocked.Read(ref _measuredMax)), Ms(weighted / total), total, Exact: false);
    }

    public static double Ms(double ticks) => Math.Round(ticks * 1000.0 / Stopwatch.Frequency, 3);

    /// <summary>Reserves room for <paramref name="samples"/> more exact samples; false once the budget is spent.</summary>
    internal bool TryReserve(int samples)
    {
        if (_exactOverflowed)
        {
            return false;
        }

        if (Interlocked.Add(ref _exactReserved, samples) <= maxExactSamples)
        {
            return true;
        }

        _exactOverflowed = true;
        return false;
    }

    /// <summary>Nearest rank.</summary>
    static long Exact(long[] sorted, double quantile) =>
        sorted[Math.Clamp((long)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];
}

/// <summary>One publish loop's exact latency samples: growing chunks, written by that loop only.</summary>
sealed class LatencySlot
{
    const int FirstChunk = 64;
    const int MaxChunk = 64 * 1024;

    readonly LatencyRecorder _recorder;
    readonly List<long[]> _full = [];
    long[] _current = [];
    int _count;

    internal LatencySlot(LatencyRecorder recorder) => _recorder = recorder;

    public void Add(long ticks)
    {
        if (_count == _current.Length)
        {
            var size = _current.Length == 0 ? FirstChunk : Math.Min(MaxChunk, _current.Length * 2);
            if (!_recorder.TryReserve(size))
            {
                return;
            }

            if (_current.Length > 0)
            {
                _full.Add(_current);
            }

            _current = new long[size];
            _count = 0;
        }

        _current[_count++] = ticks;
    }

    public int CopyTo(Span<long> destination)
    {
        var at = 0;
        foreach (var chunk in _full)
        {
            if (at + chunk.Length > destination.Length)
            {
                return at;
            }

            chunk.CopyTo(destination[at..]);
            at += chunk.Length;
        }

        var tail = Math.Min(_count, destination.Length - at);
        _current.AsSpan(0, tail).CopyTo(destination[at..]);
        return at + tail;
    }
}
