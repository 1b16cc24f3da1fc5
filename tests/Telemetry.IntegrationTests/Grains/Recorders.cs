using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Telemetry.Contracts;
using Telemetry.Grains.Alerts;
using Telemetry.Storage;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>The write pipeline as the grains see it, recording every line instead of spooling it.</summary>
public sealed class RecordingTelemetryWriter : ITelemetryWriter
{
    readonly ConcurrentQueue<string> lines = new();

    public long PendingLines => 0;

    /// <summary>When set and true for a write, the write fails as a spool that stayed full does.</summary>
    public Func<IReadOnlyList<string>, bool>? FailWhen { get; set; }

    public ValueTask WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (FailWhen?.Invoke(lines) == true)
        {
            return ValueTask.FromException(new TimeoutException("the spool stayed full"));
        }

        foreach (var line in lines)
        {
            this.lines.Enqueue(line);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask WriteDerivedAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken) => WriteAsync(lines, cancellationToken);

    public async ValueTask<Task> EnqueueAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        await WriteAsync(lines, cancellationToken);
        return Task.CompletedTask;
    }

    public IReadOnlyList<string> RawLines => [.. lines];

    /// <summary>The recorded points of one measurement, oldest first, optionally only those with the given tag values.</summary>
    public IReadOnlyList<LinePoint> Points(string measurement, params (string Tag, string Value)[] tags) =>
    [
        .. lines.Where(l => string.Equals(Storage.Schema.SeriesLines.MeasurementOf(l), measurement, StringComparison.Ordinal))
            .Select(LinePoint.Parse)
            .Where(p => tags.All(t => p.Tags.TryGetValue(t.Tag, out var v) && string.Equals(v, t.Value, StringComparison.Ordinal))),
    ];
}

/// <summary>
/// The alert steps the sensor grains recorded in the alert index (from which MQTT and the outboxes deliver), taken
/// by a grain call filter (<see cref="RecordAsync"/>) when the index's <c>Record</c> completed.
/// </summary>
public sealed class RecordingAlertNotifier
{
    readonly ConcurrentQueue<AlertStep> steps = new();

    public IReadOnlyList<AlertStep> For(string sensor) =>
        [.. steps.Where(s => string.Equals(s.Alert.Sensor, sensor, StringComparison.Ordinal))];

    /// <summary>An incoming call filter: records each step a sensor grain (not a test) recorded in the campus alert index.</summary>
    public async Task RecordAsync(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await context.Invoke();
        if (context.InterfaceMethod?.DeclaringType == typeof(IAlertIndexGrain)
            && context.MethodName == nameof(IAlertIndexGrain.Record)
            && context.SourceId is { } source && source.Type.ToString() == "sensor"
            && context.TargetId.Key.ToString() == AlertIndexGrain.Key
            && context.Request.GetArgument(0) is AlertStep step)
        {
            steps.Enqueue(step);
        }
    }
}

/// <summary>One line-protocol point, parsed back (measurement, tags, fields, time in ms).</summary>
public sealed record LinePoint(
    string Measurement,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyDictionary<string, string> Fields,
    long TimestampMs)
{
    public double Number(string field) => Fields.TryGetValue(field, out var text)
        ? double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)
        : throw new KeyNotFoundException($"{Measurement} point has no field '{field}' (fields: {string.Join(", ", Fields.Keys)})");

    public string Tag(string tag) => Tags.TryGetValue(tag, out var v) ? v : throw new KeyNotFoundException($"{Measurement} point has no tag '{tag}'");

    public static LinePoint Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var sections = Split(line, ' ', honourQuotes: true);
        if (sections.Count != 3)
        {
            throw new FormatException($"not a line with tags, fields and a timestamp: {line}");
        }

        var series = Split(sections[0], ',', honourQuotes: false);
        var tags = series.Skip(1).Select(KeyValue).ToDictionary(kv => Unescape(kv.Key), kv => Unescape(kv.Value), StringComparer.Ordinal);
        var fields = Split(sections[1], ',', honourQuotes: true).Select(KeyValue)
            .ToDictionary(kv => Unescape(kv.Key), kv => FieldValue(kv.Value), StringComparer.Ordinal);
        return new LinePoint(Unescape(series[0]), tags, fields, long.Parse(sections[2], CultureInfo.InvariantCulture));
    }

    static List<string> Split(string text, char separator, bool honourQuotes)
    {
        var parts = new List<string>();
        var start = 0;
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\')
            {
                i++;
            }
            else if (c == '"' && honourQuotes)
            {
                quoted = !quoted;
            }
            else if (c == separator && !quoted)
            {
                parts.Add(text[start..i]);
                start = i + 1;
            }
        }

        parts.Add(text[start..]);
        return parts;
    }

    static KeyValuePair<string, string> KeyValue(string pair)
    {
        for (var i = 0; i < pair.Length; i++)
        {
            if (pair[i] == '\\')
            {
                i++;
            }
            else if (pair[i] == '=')
            {
                return new(pair[..i], pair[(i + 1)..]);
            }
        }

        throw new FormatException($"no '=' in '{pair}'");
    }

    static string FieldValue(string raw) =>
        raw.Length >= 2 && raw[0] == '"' && raw[^1] == '"' ? Unescape(raw[1..^1]) : raw;

    static string Unescape(string text)
    {
        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length)
            {
                i++;
            }

            result.Append(text[i]);
        }

        return result.ToString();
    }
}

/// <summary>
/// The sensor grain calls the test silo served (a grain call filter): which sensor, which method, the batch of an
/// <c>IngestBatch</c>, and a sequence number shared with <see cref="InMemoryGrainFeed"/> to tell what came first.
/// </summary>
public static class SensorCalls
{
    static long sequence;
    static readonly ConcurrentQueue<SensorCall> calls = new();

    public static long Next() => Interlocked.Increment(ref sequence);

    /// <summary>Calls of <paramref name="sensor"/>, oldest first (a call is recorded when it completed successfully).</summary>
    public static IReadOnlyList<SensorCall> Of(string sensor) => [.. calls.Where(c => c.Sensor == sensor).OrderBy(c => c.Sequence)];

    public static async Task RecordAsync(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await context.Invoke();
        if (context.InterfaceMethod?.DeclaringType == typeof(ISensorGrain))
        {
            var batch = context.MethodName == nameof(ISensorGrain.IngestBatch) ? context.Request.GetArgument(0) as FeedBatch : null;
            calls.Enqueue(new SensorCall(Next(), context.TargetId.Key.ToString()!, context.MethodName, batch));
        }
    }
}

public sealed record SensorCall(long Sequence, string Sensor, string Method, FeedBatch? Batch);
