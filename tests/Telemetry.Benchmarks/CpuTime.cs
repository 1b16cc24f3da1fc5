using System.Diagnostics;
using System.Globalization;

namespace Telemetry.Benchmarks;

/// <summary>CPU time (user + system) of this process and of another one (from /proc/{pid}/stat), to see who used the cores.</summary>
static class CpuTime
{
    /// <summary>USER_HZ: the unit of /proc/{pid}/stat times; 100 on every Linux architecture .NET runs on.</summary>
    const double TicksPerSecond = 100;

    public static TimeSpan OfThisProcess()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>utime + stime of <paramref name="pid"/>; zero when it cannot be read.</summary>
    public static TimeSpan OfProcess(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) state ppid ..." — comm may hold spaces; fields after ')' start at 3 (state).
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds((utime + stime) / TicksPerSecond);
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException)
        {
            return TimeSpan.Zero;
        }
    }
}
