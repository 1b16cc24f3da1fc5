using System.Runtime.InteropServices;

namespace Telemetry.Storage.Spool;

/// <summary>
/// fsync of a directory, so that a newly created segment file survives a power loss. .NET has no API for it
/// (a directory cannot be opened as a file handle), hence libc.
/// </summary>
internal static partial class DirectorySync
{
    const int ReadOnly = 0;

    public static int Open(string directory) => open(directory, ReadOnly);

    public static int Fsync(int fd) => fsync(fd);

    public static int Close(int fd) => close(fd);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int close(int fd);
}
