using System.Security.Cryptography;

namespace Telemetry.Storage.Spool;

/// <summary>
/// The file <c>{directory}/spool-id</c>: a random id (16 bytes, 32 lowercase hex digits) made the first time the spool
/// directory is used and kept with it for good. Positions compare only within one spool, so a grain records how far it
/// has applied the spool per id: a spool wiped and started afresh gets a new id, and its positions are not mistaken for
/// the old one's. Written to a temporary file, fsynced, renamed and the directory fsynced, so it is never half there.
/// </summary>
internal static class SpoolIdentity
{
    public const string FileName = "spool-id";

    const int IdBytes = 16;

    /// <summary>The id kept in <paramref name="directory"/>, made now when there is none.</summary>
    /// <exception cref="InvalidDataException">
    /// The file is there but does not hold an id. Not replaced silently: a new id would make the grains take the records
    /// after the feed's position once more; the message says how to give the spool a new id on purpose.
    /// </exception>
    public static string LoadOrCreate(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path).Trim();
            return IsId(text)
                ? text
                : throw new InvalidDataException(
                    $"The spool id file {path} does not hold an id ({IdBytes * 2} hex digits). Delete it to give the spool a new id: " +
                    "the grains then treat every record after the feed's saved position as new (roll-ups may count those readings twice).");
        }

        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdBytes));
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            stream.Write(System.Text.Encoding.ASCII.GetBytes(id + "\n"));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: false);
        DirectorySync.Flush(directory);
        return id;
    }

    public static bool IsId(string text) =>
        text.Length == IdBytes * 2 && text.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
