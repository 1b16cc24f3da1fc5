using System.Globalization;

namespace Telemetry.Benchmarks;

/// <summary>Peak and current resident memory of a process, from /proc/{pid}/status.</summary>
static class ProcessStats
{
    public static long PeakRssBytes(int pid) => ReadKb(pid, "VmHWM:") * 1024;

    public static long RssBytes(int pid) => ReadKb(pid, "VmRSS:") * 1024;

    static long ReadKb(int pid, string key)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        return line?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var value, ..]
            && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var kb) ? kb : 0;
    }
}
