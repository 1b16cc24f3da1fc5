using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Telemetry.Storage.Spool;

/// <summary>
/// The spool's segment files: <c>{directory}/{index:D12}.seg</c>, numbered from 1 in the order they were written.
/// Knows names and how each role opens a segment; keeps no state of its own.
/// </summary>
internal sealed class SpoolSegments(string directory)
{
    const string Suffix = ".seg";

    public string Directory => directory;

    public string PathOf(long index) => Path.Combine(directory, index.ToString("D12", CultureInfo.InvariantCulture) + Suffix);

    /// <summary>The segments on disk, oldest first.</summary>
    public List<long> List() =>
        System.IO.Directory.EnumerateFiles(directory, "*" + Suffix)
            .Select(path => long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : -1)
            .Where(index => index >= 0)
            .Order()
            .ToList();

    /// <summary>A new, empty segment for the appender; its directory entry is made durable before it is used.</summary>
    public FileStream Create(long index)
    {
        var stream = new FileStream(PathOf(index), new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.Read | FileShare.Delete,
            BufferSize = 0,
        });
        try
        {
            DirectorySync.Flush(directory);
        }
        catch
        {
            // Not durable, so not used: remove the empty file, or the next attempt at this index would find it there.
            stream.Dispose();
            File.Delete(PathOf(index));
            throw;
        }

        return stream;
    }

    /// <summary>A segment for reading, while the appender may still write to it and a release may delete it.</summary>
    public SafeFileHandle OpenForReading(long index) =>
        File.OpenHandle(PathOf(index), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    /// <summary>A segment for the recovery scan, which may cut off a torn tail.</summary>
    public SafeFileHandle OpenForRecovery(long index) => File.OpenHandle(PathOf(index), FileMode.Open, FileAccess.ReadWrite);

    public void Delete(long index) => File.Delete(PathOf(index));
}
