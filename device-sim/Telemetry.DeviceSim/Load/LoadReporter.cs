using System.Diagnostics;

namespace Telemetry.DeviceSim.Load;

/// <summary>Samples a run every progress interval: totals, rates and the p99 of the interval; keeps the timeline.</summary>
sealed class LoadReporter(LoadRun run, IReadOnlyList<LoadConnection> connections, long started, IProgress<LoadSample>? progress)
{
    readonly long _started = started;
    readonly List<LoadSample> _timeline = [];
    readonly long[] _previousLatencies = new long[LatencyHistogram.BucketCount];
    readonly long[] _interval = new long[LatencyHistogram.BucketCount];
    long _previousAt = started, _previousSent, _previousAcked;
    bool _warnedAhead;

    public IReadOnlyList<LoadSample> Timeline => _timeline;

    /// <summary>Reports a sample every interval until <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(run.Options.ProgressInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Report();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run is over; the generator reports the final sample.
        }
    }

    /// <summary>Takes a sample, adds it to the timeline and reports it. Not thread-safe: one caller at a time.</summary>
    public void Report(LoadPhase? phase = null)
    {
        long sent = 0, acked = 0, inFlight = 0, failed = 0, reserved = 0;
        foreach (var connection in connections)
        {
            sent += connection.MessagesSent;
            acked += connection.MessagesAcked;
            inFlight += connection.InFlight;
            failed += connection.Failed + connection.Refused;
            reserved = Math.Max(reserved, connection.ReadingsReserved);
        }

        var now = Stopwatch.GetTimestamp();
        // A final, shorter interval is not extrapolated (its rates would be inflated by the short time).
        var seconds = Math.Max(run.Options.ProgressInterval.TotalSeconds, Stopwatch.GetElapsedTime(_previousAt, now).TotalSeconds);
        var sample = new LoadSample(
            Seconds: Math.Round(Stopwatch.GetElapsedTime(_started, now).TotalSeconds, 3),
            Phase: phase ?? run.Phase,
            Connected: run.Connected,
            ConnectFailures: run.ConnectFailures,
            ConnectionsLost: run.Lost,
            MessagesSent: sent,
            MessagesAcked: acked,
            InFlight: inFlight,
            Failures: failed,
            SentPerSecond: Math.Round((sent - _previousSent) / seconds, 1),
            AckedPerSecond: Math.Round((acked - _previousAcked) / seconds, 1),
            P99Ms: IntervalP99(),
            Warning: TimestampWarning(reserved));
        (_previousAt, _previousSent, _previousAcked) = (now, sent, acked);
        _timeline.Add(sample);
        progress?.Report(sample);
    }

    double? IntervalP99()
    {
        var counts = run.Latency.All.Snapshot();
        long total = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            _interval[i] = counts[i] - _previousLatencies[i];
            total += _interval[i];
        }

        counts.CopyTo(_previousLatencies, 0);
        return total == 0 ? null : LatencyRecorder.Ms(LatencyHistogram.ValueAt(_interval, total, 0.99));
    }

    /// <summary>Once, when some connection's readings are stamped later than now (the service refuses more than 5 min ahead).</summary>
    string? TimestampWarning(long maxReserved)
    {
        var ahead = run.TsBase + maxReserved - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (_warnedAhead || ahead <= 0)
        {
            return null;
        }

        _warnedAhead = true;
        var warning = $"timestamps of a connection run {ahead / 1000.0:0.#}s ahead of the clock (more than 1000 readings/s per connection); " +
                      "the service refuses readings over 5 min ahead: raise --ts-backdate or use more connections";
        run.Warn(warning);
        return warning;
    }
}
