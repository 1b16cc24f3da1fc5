using System.Diagnostics.Metrics;
using Telemetry.Domain.Observability;

namespace Telemetry.Benchmarks;

/// <summary>
/// Listens to the instruments the spool and the drainer record anyway: every recording of
/// <see cref="TelemetryMetrics.SpoolFsyncDuration"/> is one group written with one fsync;
/// <see cref="TelemetryMetrics.SpoolAppends"/> adds the messages of each group; the drainer records
/// <see cref="TelemetryMetrics.WriteDuration"/> per batch and counts lines, batches, retries and dead letters.
/// </summary>
sealed class SpoolInstruments : IDisposable
{
    readonly TelemetryMetrics metrics;
    readonly MeterListener listener = new();
    readonly Lock gate = new();
    readonly List<double> fsyncSeconds = [];
    readonly List<double> writeSeconds = [];
    long appends;
    long linesWritten;
    long batchesWritten;
    long retries;
    long deadLettered;

    public SpoolInstruments(TelemetryMetrics metrics)
    {
        this.metrics = metrics;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument, metrics.SpoolFsyncDuration) || ReferenceEquals(instrument, metrics.SpoolAppends)
                || ReferenceEquals(instrument, metrics.WriteDuration) || ReferenceEquals(instrument, metrics.LinesWritten)
                || ReferenceEquals(instrument, metrics.BatchesWritten) || ReferenceEquals(instrument, metrics.WriteRetries)
                || ReferenceEquals(instrument, metrics.LinesDeadLettered))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>(OnMeasurement);
        listener.SetMeasurementEventCallback<long>(OnMeasurement);
        listener.Start();
    }

    /// <summary>Forgets everything recorded so far (after a warm-up or a fill).</summary>
    public void Reset()
    {
        lock (gate)
        {
            fsyncSeconds.Clear();
            writeSeconds.Clear();
            appends = linesWritten = batchesWritten = retries = deadLettered = 0;
        }
    }

    public InstrumentSnapshot Snapshot()
    {
        lock (gate)
        {
            return new InstrumentSnapshot([.. fsyncSeconds], appends, [.. writeSeconds], linesWritten, batchesWritten, retries, deadLettered);
        }
    }

    void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        lock (gate)
        {
            if (ReferenceEquals(instrument, metrics.SpoolFsyncDuration))
            {
                fsyncSeconds.Add(value);
            }
            else if (ReferenceEquals(instrument, metrics.WriteDuration))
            {
                writeSeconds.Add(value);
            }
        }
    }

    void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        lock (gate)
        {
            if (ReferenceEquals(instrument, metrics.SpoolAppends))
            {
                appends += value;
            }
            else if (ReferenceEquals(instrument, metrics.LinesWritten))
            {
                linesWritten += value;
            }
            else if (ReferenceEquals(instrument, metrics.BatchesWritten))
            {
                batchesWritten += value;
            }
            else if (ReferenceEquals(instrument, metrics.WriteRetries))
            {
                retries += value;
            }
            else if (ReferenceEquals(instrument, metrics.LinesDeadLettered))
            {
                deadLettered += value;
            }
        }
    }

    public void Dispose() => listener.Dispose();
}

/// <param name="FsyncSeconds">One entry per group commit: the time to write the group and fsync it.</param>
/// <param name="Appends">Messages made durable.</param>
/// <param name="WriteSeconds">One entry per drained batch: the InfluxDB write, retries included.</param>
sealed record InstrumentSnapshot(
    IReadOnlyList<double> FsyncSeconds,
    long Appends,
    IReadOnlyList<double> WriteSeconds,
    long LinesWritten,
    long BatchesWritten,
    long Retries,
    long DeadLettered);
