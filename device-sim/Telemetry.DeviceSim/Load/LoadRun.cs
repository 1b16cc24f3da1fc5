using System.Collections.Concurrent;
using System.Diagnostics;

namespace Telemetry.DeviceSim.Load;

/// <summary>State one load run shares between its connections, its reporter and its summary.</summary>
sealed class LoadRun(LoadOptions options, string runId)
{
    const int MaxFailureKinds = 32;
    const string OtherFailures = "(other failures)";

    readonly ConcurrentDictionary<string, long> _failures = new(StringComparer.Ordinal);
    readonly ConcurrentQueue<string> _warnings = new();
    int _connected, _peakConnected, _established, _messageBytes;
    long _connectFailures, _lost, _stoppedAt;
    volatile LoadPhase _phase;

    public LoadOptions Options { get; } = options;
    public string RunId { get; } = runId;
    public LoadPayload Payload { get; } = new(options.PayloadBytes, options.ReadingsPerMessage);
    public LatencyRecorder Latency { get; } = new(options.MaxExactLatencySamples);

    /// <summary>Epoch milliseconds of every connection's first reading; reading n of a connection is <c>TsBase + n</c>.</summary>
    public long TsBase { get; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (long)options.TimestampBackdate.TotalMilliseconds;

    /// <summary>Stopwatch timestamps of the measured window: acknowledgements in [start, end) are measured.</summary>
    public long WindowStart { get; private set; } = long.MaxValue;
    public long WindowEnd { get; private set; } = long.MaxValue;

    /// <summary>When publishing was told to stop (the window's end, or earlier when cancelled); 0 while running.</summary>
    public long StoppedAt => Interlocked.Read(ref _stoppedAt);

    public int Connected => Volatile.Read(ref _connected);
    public int PeakConnected => Volatile.Read(ref _peakConnected);
    public int Established => Volatile.Read(ref _established);
    public long ConnectFailures => Interlocked.Read(ref _connectFailures);
    public long Lost => Interlocked.Read(ref _lost);
    public int MessageBytes => Volatile.Read(ref _messageBytes);
    public IReadOnlyList<string> Warnings => [.. _warnings];

    /// <summary>Failures by kind, sorted.</summary>
    public IReadOnlyDictionary<string, long> Failures => new SortedDictionary<string, long>(_failures, StringComparer.Ordinal);

    public LoadPhase Phase
    {
        get
        {
            var phase = _phase;
            return phase == LoadPhase.WarmingUp && Stopwatch.GetTimestamp() >= WindowStart ? LoadPhase.Measuring : phase;
        }
        set => _phase = value;
    }

    /// <summary>Sets the window before any publish loop starts (the loops read it without synchronisation).</summary>
    public void OpenWindow(long start, long end)
    {
        WindowStart = start;
        WindowEnd = end;
    }

    public void Stopped() => Interlocked.CompareExchange(ref _stoppedAt, Stopwatch.GetTimestamp(), 0);

    public void ConnectionUp()
    {
        Interlocked.Increment(ref _established);
        var now = Interlocked.Increment(ref _connected);
        var peak = Volatile.Read(ref _peakConnected);
        while (now > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peakConnected, now, peak);
            if (seen == peak)
            {
                break;
            }

            peak = seen;
        }
    }

    public void ConnectionLost()
    {
        Interlocked.Increment(ref _lost);
        Interlocked.Decrement(ref _connected);
        Failure("connection lost");
    }

    public void ConnectionClosed() => Interlocked.Decrement(ref _connected);

    public void ConnectFailed(string kind)
    {
        Interlocked.Increment(ref _connectFailures);
        Failure("connect: " + kind);
    }

    public void MessageWritten(int bytes) => Interlocked.CompareExchange(ref _messageBytes, bytes, 0);

    public void Failure(string kind)
    {
        var key = _failures.Count >= MaxFailureKinds && !_failures.ContainsKey(kind) ? OtherFailures : kind;
        _failures.AddOrUpdate(key, 1, (_, n) => n + 1);
    }

    public void Warn(string warning) => _warnings.Enqueue(warning);

    /// <summary>An exception as a failure kind: the innermost cause's type and message.</summary>
    public static string Describe(Exception exception)
    {
        var cause = exception.GetBaseException();
        return $"{cause.GetType().Name}: {cause.Message}";
    }
}
