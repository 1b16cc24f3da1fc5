using System.Runtime.InteropServices;

namespace Telemetry.Storage.Spool;

/// <summary>
/// fsync of a directory, so that a newly created segment file survives a power loss. .NET has no API for it
/// (a directory cannot be opened as a file handle), hence libc.
/// </summary>
public static partial class DirectorySync
{
    const int ReadOnly = 0;

    /// <summary>Makes the directory's entries (files created or renamed in it) durable; Linux only, best effort elsewhere.</summary>
    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = open(directory, ReadOnly);
        if (fd >= 0)
        {
            _ = fsync(fd);
            _ = close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int close(int fd);
}
