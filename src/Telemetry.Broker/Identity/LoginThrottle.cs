using System.Collections.Concurrent;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Telemetry.Broker.Identity;

/// <summary>
/// Failed logins, per source address and per username (<c>Broker:LoginThrottle</c>). Consulted before a password is
/// hashed, so neither guessing nor a CPU-exhaustion attempt gets far:
/// <list type="bullet">
/// <item>each failure within <see cref="LoginThrottleOptions.Window"/> doubles the delay before the next attempt's
///   CONNACK (from <see cref="LoginThrottleOptions.FirstDelay"/> up to <see cref="LoginThrottleOptions.MaxDelay"/>);</item>
/// <item><see cref="LoginThrottleOptions.MaxFailures"/> failures within the window refuse every login of that
///   address (IPv6: its /64), or of that username from that address, for <see cref="LoginThrottleOptions.Lockout"/>
///   (<c>login_throttled</c>), without hashing. A username alone is only delayed, never locked: otherwise anyone could
///   lock a chosen device out from anywhere;</item>
/// <item>at most <see cref="LoginThrottleOptions.MaxInFlightPerAddress"/> password checks of one address run at once
///   (<see cref="TryEnter"/>).</item>
/// </list>
/// Failures are counted by a <see cref="FixedWindowRateLimiter"/> per key (replenished when looked at, so no timer per
/// key). The lockout and the bound on keys are written here because the library has neither: at most
/// <see cref="LoginThrottleOptions.MaxTrackedKeys"/> keys are tracked; when full, idle keys are dropped, and if none is
/// idle (an attack rotating addresses or usernames), new keys share one overflow limiter, so they are throttled together.
/// </summary>
public sealed class LoginThrottle(IOptions<BrokerOptions> options, TimeProvider time)
{
    const string OverflowKey = "\0overflow";
    readonly LoginThrottleOptions settings = options.Value.LoginThrottle;
    readonly ConcurrentDictionary<string, Tracker> trackers = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, int> inFlight = new(StringComparer.Ordinal);
    long lastPruneTicks;

    /// <summary>Keys tracked now (bounded by <see cref="LoginThrottleOptions.MaxTrackedKeys"/> plus the overflow key).</summary>
    public int TrackedKeys => trackers.Count;

    /// <summary>
    /// Before checking a password: whether this login is refused outright (locked), and otherwise how long to wait before
    /// answering it (zero without recent failures).
    /// </summary>
    public (bool Locked, TimeSpan Delay) Check(IPAddress? source, string username)
    {
        if (!settings.Enabled)
        {
            return (false, TimeSpan.Zero);
        }

        var now = time.GetUtcNow();
        var failures = 0;
        foreach (var (key, _) in Keys(source, username))
        {
            if (!trackers.TryGetValue(key, out var tracker)
                && (trackers.Count < settings.MaxTrackedKeys || !trackers.TryGetValue(OverflowKey, out tracker)))
            {
                continue;
            }

            if (tracker.LockedUntil > now)
            {
                return (true, TimeSpan.Zero);
            }

            failures = Math.Max(failures, tracker.RecentFailures(settings.MaxFailures));
        }

        if (failures == 0)
        {
            return (false, TimeSpan.Zero);
        }

        var delay = settings.FirstDelay * Math.Pow(2, Math.Min(failures - 1, 30));
        return (false, delay < settings.MaxDelay ? delay : settings.MaxDelay);
    }

    /// <summary>A login failed: counts it for the address and the username; beyond the burst, both are locked.</summary>
    public void Failed(IPAddress? source, string username)
    {
        if (!settings.Enabled)
        {
            return;
        }

        var now = time.GetUtcNow();
        foreach (var (key, locks) in Keys(source, username))
        {
            var tracker = TrackerFor(key, now);
            using var lease = tracker.Failures.AttemptAcquire(1);
            if (locks && (!lease.IsAcquired || tracker.RecentFailures(settings.MaxFailures) >= settings.MaxFailures))
            {
                tracker.LockedUntil = now + settings.Lockout;
            }
        }
    }

    /// <summary>
    /// The keys a login counts under, and whether each may be locked: the source (IPv6 by its /64, the rule of
    /// <see cref="Transport.ConnectionGate.SourceOf"/>) and the (username, source) pair are locked after the burst; the
    /// username alone only delays — locking it from every address would let anyone lock a chosen device out with a few
    /// wrong passwords. Usernames are keyed by their SHA-256, so an attacker's long or odd names cost a fixed size.
    /// </summary>
    IEnumerable<(string Key, bool Locks)> Keys(IPAddress? source, string username)
    {
        var address = source is null ? null : Transport.ConnectionGate.SourceOf(source);
        var user = string.IsNullOrEmpty(username) ? null : UserKey(username);
        if (settings.PerAddress && address is not null)
        {
            yield return ("a:" + address, true);
        }

        if (settings.PerUsername && user is not null)
        {
            yield return ("u:" + user, false);
            if (address is not null)
            {
                yield return ("p:" + user + "@" + address, true);
            }
        }
    }

    static string UserKey(string username) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(username)));

    /// <summary>
    /// Takes a place for one password check of <paramref name="source"/> (at most
    /// <see cref="LoginThrottleOptions.MaxInFlightPerAddress"/> at once, IPv6 by /64), to be disposed when the check is
    /// done; null when that many are running already. Failures are only known after hashing, so without this cap a burst
    /// of concurrent CONNECTs would all pass <see cref="Check"/> before the first failure is counted.
    /// </summary>
    public IDisposable? TryEnter(IPAddress? source)
    {
        if (!settings.Enabled || source is null)
        {
            return NoPlace.Instance;
        }

        var key = Transport.ConnectionGate.SourceOf(source);
        while (true)
        {
            var current = inFlight.GetOrAdd(key, 0);
            if (current >= settings.MaxInFlightPerAddress)
            {
                return null;
            }

            if (inFlight.TryUpdate(key, current + 1, current))
            {
                return new Place(this, key);
            }
        }
    }

    /// <summary>Password checks running now (all sources).</summary>
    public int InFlight => inFlight.Values.Sum();

    void Leave(string key)
    {
        while (true)
        {
            var current = inFlight[key];
            if (current <= 1 ? inFlight.TryRemove(new KeyValuePair<string, int>(key, current)) : inFlight.TryUpdate(key, current - 1, current))
            {
                return;
            }
        }
    }

    sealed class Place(LoginThrottle owner, string key) : IDisposable
    {
        int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                owner.Leave(key);
            }
        }
    }

    sealed class NoPlace : IDisposable
    {
        public static NoPlace Instance { get; } = new();

        public void Dispose()
        {
        }
    }

    Tracker TrackerFor(string key, DateTimeOffset now)
    {
        if (trackers.TryGetValue(key, out var tracker))
        {
            return tracker;
        }

        if (trackers.Count >= settings.MaxTrackedKeys)
        {
            Prune(now);
            if (trackers.Count >= settings.MaxTrackedKeys)
            {
                key = OverflowKey;
            }
        }

        return trackers.GetOrAdd(key, static (_, s) => new Tracker(s), settings);
    }

    /// <summary>Drops keys with no failure in the window and no lockout; at most once a second.</summary>
    void Prune(DateTimeOffset now)
    {
        var last = Interlocked.Read(ref lastPruneTicks);
        if (now.UtcTicks - last < TimeSpan.TicksPerSecond || Interlocked.CompareExchange(ref lastPruneTicks, now.UtcTicks, last) != last)
        {
            return;
        }

        foreach (var (key, tracker) in trackers)
        {
            if (key != OverflowKey && tracker.LockedUntil <= now && tracker.RecentFailures(settings.MaxFailures) == 0)
            {
                trackers.TryRemove(key, out _);
            }
        }
    }

    sealed class Tracker(LoginThrottleOptions settings)
    {
        public FixedWindowRateLimiter Failures { get; } = new(new FixedWindowRateLimiterOptions
        {
            PermitLimit = settings.MaxFailures,
            Window = settings.Window,
            QueueLimit = 0,
            AutoReplenishment = false,
        });

        DateTimeOffset lockedUntil;

        public DateTimeOffset LockedUntil
        {
            get { lock (this) { return lockedUntil; } }
            set { lock (this) { lockedUntil = value; } }
        }

        /// <summary>Failures in the current window; a full window (the burst) counts as one more than the limit.</summary>
        public int RecentFailures(int limit)
        {
            Failures.TryReplenish();
            return limit - (int)(Failures.GetStatistics()?.CurrentAvailablePermits ?? limit);
        }
    }
}

/// <summary>
/// Failed-login throttle (<c>Broker:LoginThrottle</c>): keys are the source address and the username, each on or off.
/// </summary>
public sealed class LoginThrottleOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Count failures per source IP address.</summary>
    public bool PerAddress { get; set; } = true;

    /// <summary>Count failures per username (delay only, from any address) and per (username, address) pair (locked after the burst).</summary>
    public bool PerUsername { get; set; } = true;

    /// <summary>Failures within <see cref="Window"/> that lock the key (the next attempt is refused unhashed).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1_000_000)]
    public int MaxFailures { get; set; } = 10;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a locked address or (username, address) pair is refused (<c>login_throttled</c>).</summary>
    public TimeSpan Lockout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Delay before answering the attempt after the first failure; doubled per further failure.</summary>
    public TimeSpan FirstDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most password checks of one source address (IPv6: its /64) running at once; more are refused (<c>login_throttled</c>).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1000)]
    public int MaxInFlightPerAddress { get; set; } = 2;

    /// <summary>Most addresses and usernames tracked at once (bounded memory under address or username rotation).</summary>
    [System.ComponentModel.DataAnnotations.Range(100, 10_000_000)]
    public int MaxTrackedKeys { get; set; } = 100_000;
}
