using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Telemetry.Benchmarks;

/// <summary>What the numbers were measured on, read from /proc and /sys (Linux); "unknown" where they say nothing.</summary>
sealed record MachineInfo(
    int Cores,
    string Memory,
    string Cpu,
    string Virtualization,
    string Os,
    string Dotnet,
    string Filesystem,
    string Disk,
    DateTimeOffset Date)
{
    const string Unknown = "unknown";

    /// <summary>True when fsync on the spool folder's file system costs nothing, so append numbers do not describe a disk.</summary>
    public bool InMemoryFilesystem => Filesystem.StartsWith("tmpfs", StringComparison.Ordinal) || Filesystem.StartsWith("ramfs", StringComparison.Ordinal);

    public static MachineInfo Collect(string spoolDirectory)
    {
        var (filesystem, device) = ReadMount(spoolDirectory);
        return new MachineInfo(
            Environment.ProcessorCount,
            ReadMemory(),
            ReadCpu(),
            ReadVirtualization(),
            ReadOs(),
            $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier}, server GC: {System.Runtime.GCSettings.IsServerGC})",
            filesystem,
            ReadDisk(device),
            DateTimeOffset.UtcNow);
    }

    /// <summary>1, 5 and 15 minute load averages: anything well above 0 means other work shared the cores with the run.</summary>
    public static string LoadAverage() =>
        ReadText("/proc/loadavg")?.Split(' ') is [var one, var five, var fifteen, ..] ? $"{one} / {five} / {fifteen}" : Unknown;

    static string ReadMemory()
    {
        var line = ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        var kb = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var value, ..] && long.TryParse(value, out var parsed) ? parsed : 0;
        return kb > 0 ? string.Create(CultureInfo.InvariantCulture, $"{kb / 1024.0 / 1024.0:0.0} GiB") : Unknown;
    }

    static string ReadCpu()
    {
        var lines = ReadLines("/proc/cpuinfo");
        var model = Field(lines, "model name") ?? Field(lines, "Hardware") ?? Field(lines, "Model");
        return $"{model ?? Unknown} ({RuntimeInformation.ProcessArchitecture})";
    }

    static string ReadVirtualization()
    {
        var lines = ReadLines("/proc/cpuinfo");
        var flags = Field(lines, "flags") ?? "";
        var vendor = ReadText("/sys/class/dmi/id/sys_vendor");
        var product = ReadText("/sys/class/dmi/id/product_name");
        var hardware = string.Join(' ', new[] { vendor, product }.Where(s => !string.IsNullOrEmpty(s)));
        var guest = flags.Split(' ').Contains("hypervisor");
        return (guest, hardware.Length > 0) switch
        {
            (true, true) => $"virtual machine ({hardware})",
            (true, false) => "virtual machine (hypervisor flag)",
            (false, true) => $"no hypervisor flag ({hardware})",
            _ => Unknown,
        };
    }

    static string ReadOs()
    {
        var pretty = ReadLines("/etc/os-release")
            .FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?["PRETTY_NAME=".Length..].Trim('"');
        var kernel = ReadText("/proc/sys/kernel/osrelease");
        return pretty is null ? RuntimeInformation.OSDescription : $"{pretty}, kernel {kernel ?? Unknown}";
    }

    /// <summary>The entry of /proc/mounts with the longest mount point that holds <paramref name="path"/>.</summary>
    static (string Filesystem, string Device) ReadMount(string path)
    {
        var full = Path.GetFullPath(path);
        string[]? best = null;
        foreach (var line in ReadLines("/proc/mounts"))
        {
            var parts = line.Split(' ');
            if (parts.Length < 4)
            {
                continue;
            }

            parts[1] = Unescape(parts[1]);
            var mountPoint = parts[1].TrimEnd('/') + "/";
            if ((full + "/").StartsWith(mountPoint, StringComparison.Ordinal) && (best is null || parts[1].Length >= best[1].Length))
            {
                best = parts;
            }
        }

        return best is null
            ? (Unknown, "")
            : ($"{best[2]} on {best[0]}, mounted at {best[1]} ({best[3]})", best[0]);
    }

    /// <summary>The block device under the file system: rotational or not, its model when the kernel knows it.</summary>
    static string ReadDisk(string device)
    {
        if (!device.StartsWith("/dev/", StringComparison.Ordinal))
        {
            return Unknown;
        }

        var resolved = Path.GetFileName(new FileInfo(device).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? device);
        var block = $"/sys/class/block/{resolved}";
        if (!Directory.Exists(block))
        {
            return Unknown;
        }

        // A partition's queue settings are its disk's, one folder up.
        var disk = File.Exists(Path.Combine(block, "partition")) ? Path.GetFullPath(Path.Combine(new DirectoryInfo(block).ResolveLinkTarget(true)?.FullName ?? block, "..")) : block;
        var rotational = ReadText(Path.Combine(disk, "queue", "rotational")) switch
        {
            "0" => "non-rotational",
            "1" => "rotational",
            _ => "rotational: unknown",
        };
        var model = ReadText(Path.Combine(disk, "device", "model"));
        var cache = ReadText(Path.Combine(disk, "queue", "write_cache"));
        var name = Path.GetFileName(disk);
        return $"{name}: {rotational}{(string.IsNullOrEmpty(model) ? "" : $", model {model}")}{(string.IsNullOrEmpty(cache) ? "" : $", {cache} cache")}";
    }

    static string? Field(IEnumerable<string> lines, string name) =>
        lines.Where(l => l.StartsWith(name, StringComparison.Ordinal) && l.Contains(':', StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim())
            .FirstOrDefault(v => v.Length > 0);

    static string[] ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    static string? ReadText(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>/proc/mounts writes space, tab, newline and backslash in paths as octal escapes (\040).</summary>
    static string Unescape(string value)
    {
        if (!value.Contains('\\', StringComparison.Ordinal))
        {
            return value;
        }

        var text = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 3 < value.Length && IsOctal(value[i + 1]) && IsOctal(value[i + 2]) && IsOctal(value[i + 3]))
            {
                text.Append((char)Convert.ToInt32(value.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(value[i]);
            }
        }

        return text.ToString();

        static bool IsOctal(char c) => c is >= '0' and <= '7';
    }
}
