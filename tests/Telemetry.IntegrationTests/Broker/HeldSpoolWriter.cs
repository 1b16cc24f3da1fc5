using System.Collections.Concurrent;
using Telemetry.Storage;
using Telemetry.Storage.Spool;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>
/// The service's own spool with a hand on the durability the broker waits for: the raw lines of a held sensor are
/// appended and fsynced as usual, but reported durable only once the test releases the sensor. Lets a test see what the
/// broker does while messages are in flight, without timing. Everything else passes straight to the spool.
/// </summary>
public sealed class HeldSpoolWriter(WriteAheadSpool spool) : ITelemetryWriter
{
    readonly ConcurrentDictionary<string, TaskCompletionSource> held = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, int> enqueued = new(StringComparer.Ordinal);

    public long PendingLines => spool.PendingLines;

    /// <summary>From now on, the appends of <paramref name="sensor"/> are not reported durable until <see cref="Release"/>.</summary>
    public void Hold(string sensor) => held[sensor] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release(string sensor)
    {
        if (held.TryRemove(sensor, out var gate))
        {
            gate.TrySetResult();
        }
    }

    /// <summary>Messages of <paramref name="sensor"/> the broker has handed to the spool so far.</summary>
    public int Enqueued(string sensor) => enqueued.GetValueOrDefault(sensor);

    public ValueTask WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken) => spool.WriteAsync(lines, cancellationToken);

    public ValueTask WriteDerivedAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken) => spool.WriteDerivedAsync(lines, cancellationToken);

    public async ValueTask<Task> EnqueueAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        var durable = await spool.EnqueueAsync(lines, cancellationToken);
        if (SensorOf(lines) is not { } sensor)
        {
            return durable;
        }

        enqueued.AddOrUpdate(sensor, 1, (_, n) => n + 1);
        return held.TryGetValue(sensor, out var gate) ? BothAsync(durable, gate.Task) : durable;
    }

    static async Task BothAsync(Task durable, Task released)
    {
        await durable;
        await released;
    }

    /// <summary>The sensor tag of a raw <c>telemetry</c> line (test sensor ids need no escaping), or null.</summary>
    static string? SensorOf(IReadOnlyList<string> lines)
    {
        if (lines.Count == 0 || !lines[0].StartsWith("telemetry,", StringComparison.Ordinal))
        {
            return null;
        }

        var line = lines[0];
        var at = line.IndexOf(",sensor=", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        at += ",sensor=".Length;
        var end = line.IndexOfAny([',', ' '], at);
        return end < 0 ? null : line[at..end];
    }
}
