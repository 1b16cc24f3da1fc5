using System.Collections.Frozen;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Domain.Identity;
using Telemetry.Domain.Observability;

namespace Telemetry.Broker.Identity;

/// <summary>
/// The device credential store: the file <c>Broker:CredentialsFile</c> (format: <see cref="CredentialFile"/>), written
/// by <c>telemetry-admin</c>. Read at start (a file that is missing or does not parse stops the start with the line
/// number), then checked every <see cref="PollInterval"/> and reloaded when its modification time, size or content
/// changes; an edit that does not parse keeps the store in force, is logged with its line number, counted
/// (<c>telemetry.broker.credentials.reload_failures</c>) and shown as Degraded in <c>/health/ready</c>. Polling rather than a
/// FileSystemWatcher: it also sees files replaced by rename, on bind mounts and on network file systems.
/// </summary>
public sealed class CredentialStore : BackgroundService
{
    /// <summary>How often the file is checked for changes; a revoked device is disconnected within about this long.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    readonly ILogger<CredentialStore> logger;
    readonly System.Diagnostics.Metrics.Counter<long> reloadFailures;
    volatile Snapshot current;
    volatile string? lastError;
    (DateTime Written, long Length) stamp;

    public CredentialStore(IOptions<BrokerOptions> options, TelemetryMetrics metrics, ILogger<CredentialStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        this.logger = logger;
        reloadFailures = metrics.CredentialReloadFailures;
        Path = string.IsNullOrWhiteSpace(options.Value.CredentialsFile) ? null : System.IO.Path.GetFullPath(options.Value.CredentialsFile);
        current = Snapshot.Empty;
        if (Path is not null)
        {
            // At start a broken store is a configuration mistake: say so and do not start.
            try
            {
                stamp = StampOf(Path);
                current = new Snapshot(CredentialFile.Parse(File.ReadAllText(Path)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CredentialFileException)
            {
                throw new InvalidOperationException($"Broker:CredentialsFile '{Path}' cannot be read: {ex.Message}", ex);
            }

            WarnAboutWeakHashes(current);
            logger.LogInformation("Credential store {Path}: {Count} identities", Path, current.Entries.Count);
        }
    }

    /// <summary>Full path of the store, or null when none is configured (then no device can log in with a password).</summary>
    public string? Path { get; }

    public bool IsConfigured => Path is not null;

    /// <summary>Identities in force now.</summary>
    public int Count => current.Entries.Count;

    /// <summary>Why the last edit of the file was not taken, or null while the file in force is the file on disk.</summary>
    public string? LastError => lastError;

    /// <summary>Raised after a reload, with the store before and after.</summary>
    public event Action<CredentialStore, IReadOnlyDictionary<string, CredentialEntry>>? Changed;

    /// <summary>The entry of <paramref name="identity"/> in force now, or null.</summary>
    public CredentialEntry? Find(string identity) =>
        identity is not null && current.Entries.TryGetValue(identity, out var entry) ? entry : null;

    /// <summary>Checks the file now (the poll loop calls this; tests may too). True when a new store came into force.</summary>
    public bool ReloadIfChanged()
    {
        if (Path is null)
        {
            return false;
        }

        string text;
        (DateTime, long) now;
        try
        {
            now = StampOf(Path);
            if (now == stamp)
            {
                return false;
            }

            text = File.ReadAllText(Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail($"cannot be read: {ex.Message}");
            return false;
        }

        IReadOnlyDictionary<string, CredentialEntry> entries;
        try
        {
            entries = CredentialFile.Parse(text);
        }
        catch (CredentialFileException ex)
        {
            stamp = now;
            Fail(ex.Message);
            return false;
        }

        stamp = now;
        lastError = null;
        var before = current;
        current = new Snapshot(entries);
        logger.LogInformation("Credential store {Path} reloaded: {Count} identities (was {Before})", Path, entries.Count, before.Entries.Count);
        WarnAboutWeakHashes(current);
        Changed?.Invoke(this, before.Entries);
        return true;
    }

    void Fail(string error)
    {
        if (lastError == error)
        {
            return;
        }

        lastError = error;
        reloadFailures.Add(1);
        logger.LogError("Credential store {Path} not reloaded, the previous one stays in force: {Error}", Path, error);
    }

    void WarnAboutWeakHashes(Snapshot snapshot)
    {
        var weak = snapshot.Entries.Values.Count(e => e.Hash.IsWeak);
        if (weak > 0)
        {
            logger.LogWarning("Credential store {Path}: {Count} identities have weak password hashes (mosquitto's $6$, or fewer than {Minimum} iterations); rotate them with telemetry-admin devices rotate",
                Path, weak, PasswordHash.MinimumIterations);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Path is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(PollInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                ReloadIfChanged();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A handler of Changed failed (e.g. a disconnect); the store itself is in force. Keep polling.
                logger.LogError(ex, "Applying a reload of the credential store {Path} failed", Path);
            }
        }
    }

    static (DateTime, long) StampOf(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : throw new FileNotFoundException($"{path} does not exist", path);
    }

    sealed record Snapshot(IReadOnlyDictionary<string, CredentialEntry> Entries)
    {
        public static Snapshot Empty { get; } = new(FrozenDictionary<string, CredentialEntry>.Empty);
    }
}
