using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;

namespace Telemetry.Broker;

/// <summary>One refused message, as shown by <c>GET /api/refusals</c>; <paramref name="Seq"/> numbers them in the order refused (from 1 at start).</summary>
public sealed record RefusedMessage(DateTimeOffset At, string ClientId, string Topic, string Reason, string Detail, long Seq);

/// <summary>
/// Counts every refused message by reason (also on the <c>telemetry.mqtt.messages.refused</c> metric), keeps the most
/// recent ones for integration engineers to look at, and logs them — at most one line per reason every
/// <see cref="LogInterval"/>, with the number of similar refusals in between, so that neither one misbehaving device
/// nor an attacker rotating client ids can flood the log. Client ids and topics are written through
/// <see cref="Text.ForLog"/> (escaped, truncated).
/// </summary>
public sealed class RefusalLog(TelemetryMetrics metrics, ILogger<RefusalLog> logger, TimeProvider time)
{
    public const int RecentCapacity = 200;
    static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    readonly ConcurrentDictionary<string, long> totals = new(StringComparer.Ordinal);
    readonly ConcurrentQueue<RefusedMessage> recent = new();
    readonly LogThrottle throttle = new(LogInterval, time);
    long seq;

    public IReadOnlyDictionary<string, long> Totals => totals;

    public IReadOnlyList<RefusedMessage> Recent => [.. recent];

    public void Record(string clientId, string topic, Refusal refusal)
    {
        var now = time.GetUtcNow();
        var code = refusal.Code;
        totals.AddOrUpdate(code, 1, static (_, n) => n + 1);
        metrics.MessagesRefused.Add(1, new KeyValuePair<string, object?>("reason", code));

        recent.Enqueue(new RefusedMessage(now, Text.ForLog(clientId), Text.ForLog(topic), code, refusal.Detail, Interlocked.Increment(ref seq)));
        while (recent.Count > RecentCapacity && recent.TryDequeue(out _))
        {
        }

        if (!throttle.ShouldLog(code, out var suppressed))
        {
            return;
        }

        logger.LogWarning("Refused a message from {ClientId} on {Topic}: {Reason}: {Detail} ({Suppressed} similar refusals not logged since the last line)",
            Text.ForLog(clientId), Text.ForLog(topic), code, refusal.Detail, suppressed);
    }
}
