using System.Globalization;

namespace Telemetry.Benchmarks;

/// <summary>Peak and current resident memory of a process, from /proc/{pid}/status.</summary>
static class ProcessStats
{
    public static long PeakRssBytes(int pid) => ReadKb(pid, "VmHWM:") * 1024;

    public static long RssBytes(int pid) => ReadKb(pid, "VmRSS:") * 1024;

    /// <summary>The RSS of <paramref name="pid"/> once start-up allocations have settled: two samples 250 ms apart within 1 % (at most 10 s).</summary>
    public static async Task<long> SettledRssAsync(int pid, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var previous = RssBytes(pid);
        while (true)
        {
            await Task.Delay(250, ct); // the sampling interval of the settle check (a benchmark measurement, not a test wait)
            var current = RssBytes(pid);
            if (Math.Abs(current - previous) <= previous / 100 || DateTime.UtcNow > deadline)
            {
                return current;
            }

            previous = current;
        }
    }

    static long ReadKb(int pid, string key)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        return line?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var value, ..]
            && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var kb) ? kb : 0;
    }
}
