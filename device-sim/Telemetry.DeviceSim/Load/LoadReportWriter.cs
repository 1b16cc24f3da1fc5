using System.Text.Json;
using System.Text.Json.Serialization;

namespace Telemetry.DeviceSim.Load;

/// <summary>Writes a <see cref="LoadResult"/> as text or as one JSON object, and progress lines.</summary>
public static class LoadReportWriter
{
    /// <summary>The result as one line of JSON (camelCase), e.g. <c>{"runId":"3f9a0c1e",…,"latencyMs":{"p50":1.2,…}}</c>.</summary>
    public static string ToJson(LoadResult result, bool includeTimeline = true)
    {
        ArgumentNullException.ThrowIfNull(result);
        return JsonSerializer.Serialize(includeTimeline ? result : result with { Timeline = [] }, LoadJsonContext.Default.LoadResult);
    }

    public static LoadResult? FromJson(string json) => JsonSerializer.Deserialize(json, LoadJsonContext.Default.LoadResult);

    /// <summary>The human-readable summary.</summary>
    public static void WriteText(TextWriter writer, LoadResult result)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(result);
        writer.WriteLine($"load: run {result.RunId}, {result.Mode}, {result.Connections} connections -> {result.Broker}, MQTT {result.Mqtt}" +
                         (result.Mode == "idle" ? "" : $", QoS {result.Qos}, inflight {result.Inflight}, {result.MessageBytes} B a message ({result.ReadingsPerMessage} × ~{result.PayloadBytes} B)"));
        writer.WriteLine($"  connections     {result.ConnectionsEstablished}/{result.Connections} established in {result.ConnectSeconds:0.###}s, " +
                         $"peak {result.PeakConnected} open, {result.ConnectFailures} connect failures, {result.ConnectionsLost} lost");
        if (result.Mode == "idle")
        {
            writer.WriteLine($"  held            {result.DurationSeconds:0.###}s");
        }
        else
        {
            var ack = result.Qos == 0 ? "written" : "acked";
            writer.WriteLine($"  measured        {result.DurationSeconds:0.###}s after {result.WarmupSeconds:0.###}s warm-up");
            writer.WriteLine($"  {ack,-15} {result.MeasuredMessagesAcked} messages ({result.AckedPerSecond:0.#}/s), " +
                             $"{result.MeasuredReadingsAcked} readings ({result.ReadingsPerSecond:0.#}/s)");
            var latency = result.LatencyMs;
            writer.WriteLine($"  latency         p50 {latency.P50:0.###} ms, p95 {latency.P95:0.###} ms, p99 {latency.P99:0.###} ms, " +
                             $"p99.9 {latency.P999:0.###} ms, max {latency.Max:0.###} ms, mean {latency.Mean:0.###} ms " +
                             $"({latency.Samples} samples, {(latency.Exact ? "exact" : "histogram")}" +
                             (result.Qos == 0 ? "; QoS 0 has no PUBACK: time to write the message)" : ")"));
            writer.WriteLine($"  whole run       sent {result.MessagesSent} messages / {result.ReadingsSent} readings, " +
                             $"acked {result.MessagesAcked} / {result.ReadingsAcked}, refused {result.MessagesRefused}, " +
                             $"unacknowledged {result.MessagesUnacknowledged}");
        }

        if (result.Failures.Count == 0)
        {
            writer.WriteLine("  failures        none");
        }

        foreach (var (kind, count) in result.Failures)
        {
            writer.WriteLine($"  failure × {count}: {kind}");
        }

        foreach (var warning in result.Warnings)
        {
            writer.WriteLine($"  warning: {warning}");
        }

        writer.WriteLine(result.Succeeded
            ? result.Mode == "idle" ? "result: OK, every connection established and held"
            : result.Qos == 1 ? "result: OK, every message was acknowledged" : "result: OK, every message was sent"
            : "result: FAILED, see the counts above");
    }

    /// <summary>A progress line, e.g. <c>t=7s measuring conns 50/50 sent 41230/s acked 41228/s inflight 400 p99 2.1ms failures 0</c>.</summary>
    public static string ProgressLine(LoadSample sample, int connections)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var line = $"t={sample.Seconds:0}s {Phase(sample.Phase)} conns {sample.Connected}/{connections}";
        if (sample.ConnectFailures > 0 || sample.ConnectionsLost > 0)
        {
            line += $" (connect-failures {sample.ConnectFailures}, lost {sample.ConnectionsLost})";
        }

        if (sample.MessagesSent > 0 || sample.Phase is LoadPhase.WarmingUp or LoadPhase.Measuring)
        {
            var p99 = sample.P99Ms is { } ms ? $"{ms:0.###}ms" : "-";
            line += $" sent {sample.SentPerSecond:0}/s acked {sample.AckedPerSecond:0}/s inflight {sample.InFlight} p99 {p99} failures {sample.Failures}";
        }

        return sample.Warning is null ? line : $"{line}\nwarning: {sample.Warning}";
    }

    static string Phase(LoadPhase phase) => phase switch
    {
        LoadPhase.Connecting => "connecting",
        LoadPhase.WarmingUp => "warm-up",
        LoadPhase.Measuring => "measuring",
        LoadPhase.Holding => "holding",
        LoadPhase.Draining => "draining",
        LoadPhase.Disconnecting => "disconnecting",
        _ => "done",
    };
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LoadResult))]
sealed partial class LoadJsonContext : JsonSerializerContext;
