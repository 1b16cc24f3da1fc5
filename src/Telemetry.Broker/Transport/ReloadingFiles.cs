namespace Telemetry.Broker.Transport;

/// <summary>
/// Something loaded from files (a certificate and its key, a CA bundle) that is loaded again when one of the files
/// changes. <see cref="Current"/> compares the files' modification time and length with those of the last load (two
/// <c>stat</c> calls, cheap enough for every TLS handshake), so a rotation takes effect at the next connection without
/// a file watcher, whose events are lost on some file systems (bind mounts, NFS, Kubernetes secret volumes).
/// A load that fails keeps the previous value and is reported once per change of the files; a half-written file
/// that fails to load is loaded again when its writer finishes (its time or length changes again).
/// </summary>
public sealed class ReloadingFiles<T>
    where T : class
{
    readonly string[] paths;
    readonly Func<T> load;
    readonly Action<T> onReloaded;
    readonly Action<Exception> onFailed;
    readonly Lock gate = new();
    (DateTime Written, long Length)[] stamp;
    T current;

    /// <summary>Loads now; throws when the first load fails (checked at start, before the listener opens).</summary>
    public ReloadingFiles(IEnumerable<string?> paths, Func<T> load, Action<T> onReloaded, Action<Exception> onFailed)
    {
        this.paths = [.. paths.OfType<string>()];
        this.load = load;
        this.onReloaded = onReloaded;
        this.onFailed = onFailed;
        stamp = Stamp();
        current = load();
    }

    public T Current
    {
        get
        {
            var now = Stamp();
            lock (gate)
            {
                if (!now.AsSpan().SequenceEqual(stamp))
                {
                    // The stamp taken before loading: a change during the load is seen (and loaded) next time.
                    stamp = now;
                    try
                    {
                        current = load();
                        onReloaded(current);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException or FormatException or InvalidDataException)
                    {
                        onFailed(ex);
                    }
                }

                return current;
            }
        }
    }

    (DateTime, long)[] Stamp() => [.. paths.Select(path =>
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1L);
    })];
}
