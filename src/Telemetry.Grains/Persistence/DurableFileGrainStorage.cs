using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using Telemetry.Contracts;
using Telemetry.Storage.Spool;

namespace Telemetry.Grains.Persistence;

/// <summary>
/// Grain state in files, one per grain and state name, written so a crash at any moment leaves either the old or the
/// new state: write a temporary file, fsync it, rename it over the old one, fsync the directory.
/// Written here rather than taken from Orleans' own <c>FileGrainStorage</c> (10.x), which rewrites the file in place
/// without fsync: a crash during that write leaves a truncated record, and the grain then cannot activate at all —
/// for a sensor grain that would stop its ingestion. State is JSON (System.Text.Json): readable by an operator, and
/// the state types (alert engine, roll-up windows) are plain records of the domain library. One silo owns the directory
/// (single-silo deployment) and Orleans keeps one activation per grain, so writes are not checked against the ETag.
/// </summary>
public sealed class DurableFileGrainStorage(string directory, ILogger<DurableFileGrainStorage> logger) : IGrainStorage
{
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        // The alert enums first: kebab-case, and they still read the member names earlier versions wrote.
        Converters = { new WireEnumConverter(), new JsonStringEnumConverter() },
        WriteIndented = false,
    };

    readonly string root = Path.GetFullPath(directory);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var path = PathOf(stateName, grainId);
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            grainState.RecordExists = false;
            grainState.ETag = null;
            return;
        }

        try
        {
            grainState.State = JsonSerializer.Deserialize<T>(bytes, JsonOptions) ?? throw new JsonException("the state file holds null");
            grainState.RecordExists = true;
            grainState.ETag = File.GetLastWriteTimeUtc(path).Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A state that cannot be read must not stop the grain (and with it a sensor's ingestion): set it aside
            // for inspection, start empty, and say so loudly.
            var aside = path + ".unreadable-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
            File.Move(path, aside, overwrite: true);
            logger.LogError(ex, "Grain state {StateName} of {GrainId} could not be read; moved it to {Path} and started from an empty state",
                stateName, grainId, aside);
            grainState.RecordExists = false;
            grainState.ETag = null;
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var path = PathOf(stateName, grainId);
        Directory.CreateDirectory(root);
        var temporary = path + ".tmp";
        var bytes = JsonSerializer.SerializeToUtf8Bytes(grainState.State, JsonOptions);
        await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
        {
            await file.WriteAsync(bytes);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        DirectorySync.Flush(root);
        grainState.RecordExists = true;
        grainState.ETag = File.GetLastWriteTimeUtc(path).Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        File.Delete(PathOf(stateName, grainId));
        grainState.RecordExists = false;
        grainState.ETag = null;
        return Task.CompletedTask;
    }

    /// <summary>File names readable by a person: grain type, key and state name, unsafe characters replaced.</summary>
    string PathOf(string stateName, GrainId grainId)
    {
        var name = $"{grainId.Type}_{grainId.Key}_{stateName}";
        var safe = string.Create(name.Length, name, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                span[i] = char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_';
            }
        });

        // Different keys can map to the same safe name ("a/b" and "a_b"); a short hash of the exact id keeps them apart.
        var hash = System.IO.Hashing.XxHash32.HashToUInt32(System.Text.Encoding.UTF8.GetBytes(name));
        return Path.Combine(root, $"{safe}.{hash:x8}.state");
    }
}
