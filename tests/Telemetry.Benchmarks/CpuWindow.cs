using System.Diagnostics;
using Telemetry.DeviceSim.Load;

namespace Telemetry.Benchmarks;

/// <summary>
/// CPU time (utime + stime from /proc) of several processes over the load generator's measured window: sampled when
/// <c>device-sim load</c> writes <see cref="LoadWindowLines.Opens"/> and <see cref="LoadWindowLines.Closes"/> on its
/// stderr, so that dividing by the messages acknowledged in that window (<see cref="LoadResult.MeasuredMessagesAcked"/>)
/// gives CPU per acknowledged message with warm-up, connecting and draining left out. /proc counts in 10 ms ticks: over
/// a 15 s window that is well under 1 % of any process that matters here.
/// </summary>
sealed class CpuWindow
{
    readonly Lock gate = new();
    readonly List<(string Name, int Pid)> processes = [];
    readonly Dictionary<string, TimeSpan> opened = [];
    readonly Dictionary<string, TimeSpan> closed = [];
    long openedAt, closedAt;

    /// <summary>Watches <paramref name="pid"/> under <paramref name="name"/> (call before the window opens).</summary>
    public void Watch(string name, int pid)
    {
        lock (gate)
        {
            processes.Add((name, pid));
        }
    }

    /// <summary>Feeds a stderr line of the load generator; samples at the window's edges.</summary>
    public void OnGeneratorLine(string line)
    {
        if (line.StartsWith(LoadWindowLines.Opens, StringComparison.Ordinal))
        {
            Sample(opened, ref openedAt);
        }
        else if (line.StartsWith(LoadWindowLines.Closes, StringComparison.Ordinal))
        {
            Sample(closed, ref closedAt);
        }
    }

    /// <summary>True when both edges were seen.</summary>
    public bool Complete
    {
        get
        {
            lock (gate)
            {
                return BothEdges;
            }
        }
    }

    bool BothEdges => openedAt != 0 && closedAt != 0;

    /// <summary>Wall time between the edges as this process saw them.</summary>
    public TimeSpan Wall
    {
        get
        {
            lock (gate)
            {
                return BothEdges ? Stopwatch.GetElapsedTime(openedAt, closedAt) : TimeSpan.Zero;
            }
        }
    }

    /// <summary>CPU of <paramref name="name"/> in the window; zero when the window was not seen whole.</summary>
    public TimeSpan Cpu(string name)
    {
        lock (gate)
        {
            return BothEdges && opened.TryGetValue(name, out var a) && closed.TryGetValue(name, out var b) ? b - a : TimeSpan.Zero;
        }
    }

    /// <summary>Microseconds of <paramref name="name"/>'s CPU per message; NaN when unknown.</summary>
    public double MicrosecondsPer(string name, long messages) =>
        Complete && messages > 0 ? Cpu(name).TotalMicroseconds / messages : double.NaN;

    /// <summary>Share of one core <paramref name="name"/> used in the window (1 = one full core).</summary>
    public double Cores(string name) => Wall > TimeSpan.Zero ? Cpu(name) / Wall : double.NaN;

    /// <summary>"63.2 µs (118 % of a core)" for a row of the report.</summary>
    public string Describe(string name, long messages) =>
        Complete
            ? $"{Report.Number(MicrosecondsPer(name, messages))} µs per acknowledged message ({Report.Percent(Cores(name))} of one core)"
            : "n/a (the measured window's edges were not seen)";

    void Sample(Dictionary<string, TimeSpan> into, ref long at)
    {
        lock (gate)
        {
            if (at != 0)
            {
                return;
            }

            foreach (var (name, pid) in processes)
            {
                into[name] = CpuTime.OfProcess(pid);
            }

            at = Stopwatch.GetTimestamp();
        }
    }
}
