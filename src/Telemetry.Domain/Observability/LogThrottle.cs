using System.Collections.Concurrent;

namespace Telemetry.Domain.Observability;

/// <summary>
/// Lets one log line per key through every <see cref="Interval"/> and counts the ones held back in between, so
/// that a misbehaving device, a reconnect storm or a library retrying in a tight loop cannot flood the log.
/// Counters and metrics still see every event; only the log lines are thinned.
/// </summary>
public sealed class LogThrottle(TimeSpan interval, TimeProvider time, int maxKeys = 10_000)
{
    readonly ConcurrentDictionary<string, State> states = new(StringComparer.Ordinal);

    public TimeSpan Interval { get; } = interval;

    /// <summary>True when a line for <paramref name="key"/> may be written now; <paramref name="suppressed"/> is how many were held back since the last one.</summary>
    public bool ShouldLog(string key, out long suppressed)
    {
        if (states.Count > maxKeys)
        {
            states.Clear();
        }

        var state = states.GetOrAdd(key, static _ => new State());
        var now = time.GetTimestamp();
        lock (state)
        {
            if (state.LastLogged != 0 && time.GetElapsedTime(state.LastLogged, now) < Interval)
            {
                state.Suppressed++;
                suppressed = 0;
                return false;
            }

            suppressed = state.Suppressed;
            state.Suppressed = 0;
            state.LastLogged = now;
            return true;
        }
    }

    sealed class State
    {
        public long LastLogged;
        public long Suppressed;
    }
}
