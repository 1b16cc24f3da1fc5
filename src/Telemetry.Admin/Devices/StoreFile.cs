using System.Text;
using Telemetry.Domain.Identity;

namespace Telemetry.Admin.Devices;

/// <summary>
/// The credential store file as lines, edited in place (comments and order kept) and written back atomically: a
/// temporary file in the same folder, flushed to disk, then renamed over the store, so that the broker's reload never
/// reads half a file. Created with mode 0600: the hashes are slow, not secret-proof.
/// </summary>
public sealed class StoreFile
{
    readonly List<string> lines;

    StoreFile(string path, List<string> lines)
    {
        Path = path;
        this.lines = lines;
    }

    public string Path { get; }

    /// <summary>Reads and validates the store (a missing file is an empty store); a bad line throws with its number.</summary>
    public static StoreFile Load(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var text = File.Exists(full) ? File.ReadAllText(full) : "";
        CredentialFile.Parse(text);
        var lines = text.Length == 0 ? [] : text.TrimEnd('\n').Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        return new StoreFile(full, lines);
    }

    public IReadOnlyList<CredentialEntry> Entries =>
        [.. lines.Select((l, i) => (l, i)).Where(x => !IsComment(x.l)).Select(x => CredentialFile.ParseLine(x.l, x.i + 1))];

    public CredentialEntry? Find(string identity) => IndexOf(identity) is var i and >= 0 ? CredentialFile.ParseLine(lines[i], i + 1) : null;

    /// <summary>Adds or replaces the line of <paramref name="entry"/>'s identity.</summary>
    public void Put(CredentialEntry entry)
    {
        var line = CredentialFile.FormatLine(entry);
        var index = IndexOf(entry.Identity);
        if (index >= 0)
        {
            lines[index] = line;
        }
        else
        {
            lines.Add(line);
        }
    }

    public bool Remove(string identity)
    {
        var index = IndexOf(identity);
        if (index < 0)
        {
            return false;
        }

        lines.RemoveAt(index);
        return true;
    }

    public void Save() => WriteAtomically(Path, string.Join('\n', lines) + (lines.Count > 0 ? "\n" : ""));

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> through a temporary file and a rename, mode 0600.</summary>
    public static void WriteAtomically(string path, string text)
    {
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(folder);
        var temp = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temp, options))
            {
                stream.Write(Encoding.UTF8.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    int IndexOf(string identity) =>
        lines.FindIndex(l => !IsComment(l) && l.StartsWith(identity + ":", StringComparison.Ordinal));

    static bool IsComment(string line) => line.Trim().Length == 0 || line.TrimStart().StartsWith('#');
}
