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
    readonly List<long> rewinds = [];
    int cursor;
    bool waiting;
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

    /// <summary>True while the reader waits for records after having read all: the feeder is between its batches and rounds.</summary>
    public bool ReaderWaiting
    {
        get
        {
            lock (gate)
            {
                return waiting;
            }
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
                waiting = true;
            }

            try
            {
                await wait.WaitAsync(cancellationToken);
            }
            finally
            {
                lock (gate)
                {
                    waiting = false;
                }
            }
        }
    }

    /// <summary>Rewinds recorded with their sequence number (shared with <see cref="SensorCalls"/>).</summary>
    public IReadOnlyList<long> Rewinds
    {
        get
        {
            lock (gate)
            {
                return [.. rewinds];
            }
        }
    }

    public SpoolPosition RewindFeed()
    {
        lock (gate)
        {
            rewinds.Add(SensorCalls.Next());
            var consumedAt = FeedConsumed;
            cursor = entries.FindIndex(e => e.End > consumedAt) is var i and >= 0 ? i : entries.Count;
            return consumedAt;
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
