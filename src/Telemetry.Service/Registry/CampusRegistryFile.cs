using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Configuration;

namespace Telemetry.Service.Registry;

/// <summary>
/// The campus registry read from a YAML file and kept current while the service runs. A valid edit replaces
/// <see cref="Current"/>; an invalid edit is logged error by error
/// (<c>path:line:column: message</c>) and ignored, the previous registry stays in force.
/// </summary>
/// <remarks>
/// Changes are noticed by a <see cref="FileSystemWatcher"/> on the file's folder and, because watchers miss events on
/// some file systems (network mounts, containers' bind mounts, editors that replace the file, symlink swaps), by
/// comparing a hash of the content every poll interval. A new content is applied only once two reads at least
/// <see cref="SettleTime"/> apart agree, so a file caught half-written is not taken for a smaller campus.
/// </remarks>
public sealed class CampusRegistryFile : ICampusRegistrySource, IDisposable
{
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(2);

    /// <summary>How long a new content must stay unchanged before it is loaded.</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(200);

    readonly ILogger logger;
    readonly Lock gate = new();
    readonly FileSystemWatcher? watcher;
    readonly Timer pollTimer;
    readonly Timer settleTimer;
    readonly string fileName;
    volatile CampusRegistry current;
    byte[] loadedHash;
    volatile string inForceHash;
    byte[]? pendingHash;
    bool missingReported;
    string? unreadableReported;
    bool disposed;
    long reloads;
    long failedReloads;
    IReadOnlyList<YamlError> lastErrors = [];

    /// <summary>Loads <paramref name="path"/> now; throws <see cref="CampusRegistryException"/> when it is missing, unreadable or invalid.</summary>
    /// <param name="watch">Whether to use a file-system watcher besides polling (polling alone is slower but always works).</param>
    public CampusRegistryFile(string path, ILogger logger, TimeSpan? pollInterval = null, bool watch = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(logger);
        var poll = pollInterval ?? DefaultPollInterval;
        if (poll <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(pollInterval), poll, "The registry poll interval must be greater than zero");
        }
        this.logger = logger;
        Path = System.IO.Path.GetFullPath(path);
        fileName = System.IO.Path.GetFileName(Path);

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(Path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CampusRegistryException($"The campus registry file {Path} (Campus:RegistryPath) does not exist", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CampusRegistryException($"The campus registry file {Path} (Campus:RegistryPath) cannot be read: {ex.Message}", ex);
        }
        var result = CampusRegistryLoader.Load(Decode(bytes), Path);
        if (!result.Succeeded)
        {
            throw new CampusRegistryException(
                $"The campus registry file {Path} has {Count(result.Errors.Count)}:{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", result.Errors),
                result.Errors);
        }
        current = result.Registry!;
        loadedHash = SHA256.HashData(bytes);
        inForceHash = Convert.ToHexStringLower(loadedHash);
        LogLoaded("loaded", current);

        settleTimer = new Timer(_ => Check(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        pollTimer = new Timer(_ => Check(), null, poll, poll);
        if (watch)
        {
            watcher = StartWatcher();
        }
    }

    /// <summary>Full path of the registry file.</summary>
    public string Path { get; }

    public CampusRegistry Current => current;

    /// <summary>
    /// SHA-256 of the file's bytes in force (lowercase hex, as <c>sha256sum</c> prints it): the registry's identity that
    /// the nodes of a cluster compare. The raw content, not a canonical form: two files that differ only in a comment or
    /// in spacing count as different, so an operator rolls out the same file to every node. An edit that was refused
    /// leaves the hash of the content still in force.
    /// </summary>
    public string Hash => inForceHash;

    /// <summary>Changes applied since start.</summary>
    public long Reloads => Interlocked.Read(ref reloads);

    /// <summary>Changes refused since start (invalid content, file gone).</summary>
    public long FailedReloads => Interlocked.Read(ref failedReloads);

    /// <summary>The errors of the last refused change; empty once a change has been applied.</summary>
    public IReadOnlyList<YamlError> LastErrors => Volatile.Read(ref lastErrors);

    FileSystemWatcher? StartWatcher()
    {
        try
        {
            // No name filter: a rename onto the file (how many editors save) must be seen whichever name the watcher matches.
            var w = new FileSystemWatcher(System.IO.Path.GetDirectoryName(Path)!)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                IncludeSubdirectories = false,
            };
            w.Changed += OnFileEvent;
            w.Created += OnFileEvent;
            w.Deleted += OnFileEvent;
            w.Renamed += OnFileEvent;
            w.Error += (_, e) => logger.LogDebug(e.GetException(), "Registry file watcher lost events; polling catches up");
            w.EnableRaisingEvents = true;
            return w;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            logger.LogWarning("Cannot watch {Path} for changes ({Error}); checking it by polling only", Path, ex.Message);
            return null;
        }
    }

    void OnFileEvent(object sender, FileSystemEventArgs e)
    {
        var ours = string.Equals(e.Name, fileName, StringComparison.Ordinal)
            || (e is RenamedEventArgs r && string.Equals(r.OldName, fileName, StringComparison.Ordinal));
        if (ours)
        {
            ScheduleSettledCheck();
        }
    }

    void ScheduleSettledCheck()
    {
        lock (gate)
        {
            if (!disposed)
            {
                settleTimer.Change(SettleTime, Timeout.InfiniteTimeSpan);
            }
        }
    }

    void Check()
    {
        try
        {
            lock (gate)
            {
                if (!disposed)
                {
                    CheckLocked();
                }
            }
        }
#pragma warning disable CA1031 // A timer callback must not throw: that would end the process over a registry file.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            logger.LogError(ex, "Checking the campus registry file {Path} failed; the current registry stays in force", Path);
        }
    }

    void CheckLocked()
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(Path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            pendingHash = null;
            if (!missingReported)
            {
                missingReported = true;
                Interlocked.Increment(ref failedReloads);
                logger.LogError("The campus registry file {Path} is gone; the registry loaded before stays in force", Path);
            }
            return;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Often a writer holding the file for a moment; only a lasting problem deserves more than one line.
            if (!string.Equals(unreadableReported, ex.Message, StringComparison.Ordinal))
            {
                unreadableReported = ex.Message;
                logger.LogWarning("The campus registry file {Path} cannot be read ({Error}); trying again", Path, ex.Message);
            }
            return;
        }
        missingReported = false;
        unreadableReported = null;

        var hash = SHA256.HashData(bytes);
        if (hash.AsSpan().SequenceEqual(loadedHash))
        {
            pendingHash = null;
            return;
        }
        if (pendingHash is null || !hash.AsSpan().SequenceEqual(pendingHash))
        {
            pendingHash = hash;
            settleTimer.Change(SettleTime, Timeout.InfiniteTimeSpan);
            return;
        }
        pendingHash = null;
        // Remembered even when invalid, so one bad save is reported once rather than on every poll.
        loadedHash = hash;
        Apply(bytes, hash);
    }

    /// <summary>
    /// Reads the file now, at an operator's request (<c>POST /api/registry/reload</c>), without waiting for the poll
    /// or the settle time: the operator says the file is complete. A valid new content is applied; an invalid one is
    /// refused as any edit is (logged, the previous registry stays in force, <see cref="LastErrors"/> names the errors).
    /// </summary>
    public RegistryReload ReloadNow()
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(Path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return new RegistryReload(RegistryReloadOutcome.Unreadable, current, [], $"{Path} cannot be read: {ex.Message}");
            }

            pendingHash = null;
            missingReported = false;
            unreadableReported = null;
            var hash = SHA256.HashData(bytes);
            if (!hash.AsSpan().SequenceEqual(loadedHash))
            {
                loadedHash = hash;
                Apply(bytes, hash);
                return lastErrors.Count == 0
                    ? new RegistryReload(RegistryReloadOutcome.Reloaded, current, [], null)
                    : new RegistryReload(RegistryReloadOutcome.Refused, current, lastErrors, null);
            }

            return lastErrors.Count == 0
                ? new RegistryReload(RegistryReloadOutcome.Unchanged, current, [], null)
                : new RegistryReload(RegistryReloadOutcome.Refused, current, lastErrors, null);
        }
    }

    void Apply(byte[] bytes, byte[] contentHash)
    {
        var result = CampusRegistryLoader.Load(Decode(bytes), Path);
        if (!result.Succeeded)
        {
            Interlocked.Increment(ref failedReloads);
            Volatile.Write(ref lastErrors, result.Errors);
            logger.LogError("The campus registry file {Path} changed but has {Errors}; the previous registry stays in force",
                Path, Count(result.Errors.Count));
            foreach (var error in result.Errors)
            {
                logger.LogError("Campus registry error: {RegistryError}", error.ToString());
            }
            return;
        }
        var registry = result.Registry!;
        current = registry;
        inForceHash = Convert.ToHexStringLower(contentHash);
        Interlocked.Increment(ref reloads);
        Volatile.Write(ref lastErrors, []);
        LogLoaded("reloaded", registry);
    }

    void LogLoaded(string what, CampusRegistry registry) =>
        logger.LogInformation(
            "Campus registry {Path} {What}: campus {Campus}, {Buildings} buildings, {Rooms} rooms, {Sensors} sensors, {Kinds} kinds, unregistered sensors: {Policy}",
            Path, what, registry.Campus.Id, registry.Buildings.Count, registry.Buildings.Sum(b => b.Rooms.Count),
            registry.Sensors.Count(), registry.Kinds.Count, registry.Unregistered);

    static string Count(int errors) => errors == 1 ? "1 error" : $"{errors} errors";

    static string Decode(byte[] bytes)
    {
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        var span = bytes.AsSpan();
        return Encoding.UTF8.GetString(span.StartsWith(bom) ? span[bom.Length..] : span);
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
        }
        watcher?.Dispose();
        pollTimer.Dispose();
        settleTimer.Dispose();
    }
}

/// <summary>What a reload asked for by an operator did.</summary>
public enum RegistryReloadOutcome
{
    /// <summary>The file's new content is in force.</summary>
    Reloaded,

    /// <summary>The content in force is the file's (nothing to do).</summary>
    Unchanged,

    /// <summary>The file has errors; the previous registry stays in force.</summary>
    Refused,

    /// <summary>The file cannot be read; the registry in force stays.</summary>
    Unreadable,
}

/// <summary>The outcome of <see cref="CampusRegistryFile.ReloadNow"/>, the registry in force after it, and the errors that refused the file.</summary>
public sealed record RegistryReload(RegistryReloadOutcome Outcome, CampusRegistry InForce, IReadOnlyList<YamlError> Errors, string? Problem);
