using System.Runtime.InteropServices;

namespace Telemetry.Benchmarks;

/// <summary>
/// Raises this process's open-file limit (RLIMIT_NOFILE) so that it and the processes it starts (the service, the
/// load generator) can hold 100,000 sockets. .NET has no API for setrlimit, hence libc; as root the hard limit may be
/// raised up to fs.nr_open.
/// </summary>
static partial class FileLimits
{
    const int RlimitNofile = 7;

    [StructLayout(LayoutKind.Sequential)]
    struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    public static (ulong Soft, ulong Hard) Get()
    {
        _ = getrlimit(RlimitNofile, out var limit);
        return (limit.Current, limit.Maximum);
    }

    /// <summary>Sets soft and hard limits to <paramref name="wanted"/> (or as high as allowed); returns the soft limit in force.</summary>
    public static ulong Raise(ulong wanted)
    {
        var limit = new RLimit { Current = wanted, Maximum = wanted };
        if (setrlimit(RlimitNofile, ref limit) != 0)
        {
            var (_, hard) = Get();
            limit = new RLimit { Current = Math.Min(wanted, hard), Maximum = hard };
            _ = setrlimit(RlimitNofile, ref limit);
        }

        return Get().Soft;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, ref RLimit limit);
}
