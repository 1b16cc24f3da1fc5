using Telemetry.Storage;
using Telemetry.Storage.Spool;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>
/// Our own seam <see cref="IGrainFeed"/> over a list in memory, for the grain feeder's tests (the spool's
/// implementation has its own tests): records are appended at (1, 100), (1, 200), …; <see cref="ConsumeFeed"/> calls
/// are recorded with a sequence number shared with <see cref="SensorCalls"/>.
/// </summary>
public sealed class InMemoryGrainFeed : IGrainFeed
{
    readonly Lock gate = new();
    readonly List<SpoolEntry> entries;
    readonly List<(long Sequence, SpoolPosition Position)> consumed = [];
    int cursor;
    TaskCompletionSource appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public InMemoryGrainFeed(string spoolId) : this(spoolId, [], default)
    {
    }

    InMemoryGrainFeed(string spoolId, List<SpoolEntry> entries, SpoolPosition from)
    {
        SpoolId = spoolId;
        this.entries = entries;
        FeedConsumed = from;
        cursor = entries.FindIndex(e => e.End > from) is var i and >= 0 ? i : entries.Count;
    }

    public string SpoolId { get; }

    public SpoolPosition FeedConsumed { get; private set; }

    public IReadOnlyList<SpoolEntry> Entries
    {
        get
        {
            lock (gate)
            {
                return [.. entries];
            }
        }
    }

    public IReadOnlyList<(long Sequence, SpoolPosition Position)> Consumed
    {
        get
        {
            lock (gate)
            {
                return [.. consumed];
            }
        }
    }

    /// <summary>The same records read again from <paramref name="from"/>, as after a restart whose consumed position was there.</summary>
    public InMemoryGrainFeed Reopen(SpoolPosition from)
    {
        lock (gate)
        {
            return new InMemoryGrainFeed(SpoolId, [.. entries], from);
        }
    }

    public SpoolPosition Append(IReadOnlyList<string> lines, long appendedAtMs)
    {
        lock (gate)
        {
            var end = new SpoolPosition(1, (entries.Count + 1) * 100L);
            entries.Add(new SpoolEntry(end, appendedAtMs, lines));
            appended.TrySetResult();
            appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return end;
        }
    }

    public async ValueTask<IReadOnlyList<SpoolEntry>> ReadFeedAsync(int maxRecords, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (gate)
            {
                if (cursor < entries.Count)
                {
                    var count = Math.Min(maxRecords, entries.Count - cursor);
                    var batch = entries.GetRange(cursor, count);
                    cursor += count;
                    return batch;
                }

                wait = appended.Task;
            }

            await wait.WaitAsync(cancellationToken);
        }
    }

    public void ConsumeFeed(SpoolPosition position)
    {
        lock (gate)
        {
            consumed.Add((SensorCalls.Next(), position));
            FeedConsumed = position;
        }
    }
}
