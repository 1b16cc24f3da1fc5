using Telemetry.Contracts;

namespace Telemetry.Grains.Alerts;

/// <summary>
/// The alert index's numbered log of the most recent alert steps (part of its persisted state): each step gets the
/// next sequence number, the oldest fall off beyond <see cref="Capacity"/>. Nodes catch up from it after missing
/// pushes (their observer expired, the index moved to another node). Sequence numbers start at 1; 0 means "none yet".
/// </summary>
public sealed class AlertStepLog
{
    /// <summary>
    /// Steps kept. The log is written with the index's state on every step, so it is kept small; it must cover the
    /// steps recorded while a node misses pushes, which is about one observer expiry (15 s) or the time the index
    /// takes to move after its node died.
    /// </summary>
    public const int Capacity = 256;

    /// <summary>The sequence number of the newest step (0 before the first).</summary>
    public long LastSeq { get; set; }

    /// <summary>The kept steps, oldest first, their sequence numbers consecutive up to <see cref="LastSeq"/>.</summary>
    public List<SequencedAlertStep> Steps { get; set; } = [];

    /// <summary>Numbers <paramref name="step"/> (recorded at <paramref name="recordedAtMs"/>, service time), keeps it and drops the oldest beyond <see cref="Capacity"/>.</summary>
    public SequencedAlertStep Append(AlertStep step, long recordedAtMs = 0)
    {
        ArgumentNullException.ThrowIfNull(step);
        var sequenced = new SequencedAlertStep(++LastSeq, step, recordedAtMs);
        Steps.Add(sequenced);
        if (Steps.Count > Capacity)
        {
            Steps.RemoveRange(0, Steps.Count - Capacity);
        }

        return sequenced;
    }

    /// <summary>
    /// The steps after <paramref name="afterSeq"/>, in order; or null with a reason when they are not all here:
    /// <c>first_subscription</c> (the caller has seen none: negative), <c>log_truncated</c> (older than the log),
    /// <c>index_behind</c> (the caller has seen numbers the index has not given: its state was reset).
    /// </summary>
    public IReadOnlyList<SequencedAlertStep>? After(long afterSeq, out string? gap)
    {
        gap = null;
        if (afterSeq < 0)
        {
            gap = "first_subscription";
            return null;
        }

        if (afterSeq > LastSeq)
        {
            gap = "index_behind";
            return null;
        }

        var oldest = Steps.Count == 0 ? LastSeq + 1 : Steps[0].Seq;
        if (afterSeq + 1 < oldest)
        {
            gap = "log_truncated";
            return null;
        }

        return [.. Steps.Skip((int)(afterSeq + 1 - oldest))];
    }
}
