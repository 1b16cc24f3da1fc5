using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Telemetry.Contracts;
using Telemetry.Domain.Schema;

namespace Telemetry.Domain.Ingest;

/// <summary>Checks every payload format applies the same way (JSON readings, SenML), so the contract cannot drift apart.</summary>
internal static class IngestRules
{
    /// <summary>
    /// Names a metric may not have, in any case: InfluxDB's <c>time</c> and every tag key the schema writes
    /// (<see cref="TagKeys.All"/>), since a field named like a tag collides with it in InfluxQL and Flux.
    /// </summary>
    internal static readonly IReadOnlySet<string> ReservedNames =
        new HashSet<string>(TagKeys.All.Append("time"), StringComparer.OrdinalIgnoreCase);

    static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = 8,
    };

    /// <summary>Reads one JSON payload's readings; <paramref name="state"/> carries what the format needs.</summary>
    internal delegate bool DocumentParser<in TState>(ref Utf8JsonReader reader, TState state, out IReadOnlyList<Reading> readings, out Refusal refusal);

    /// <summary>
    /// What every JSON payload format shares around its own parser: an empty or oversized payload is refused before
    /// reading, and a malformed document (invalid JSON or UTF-8) becomes a <c>malformed_json</c> refusal. On refusal
    /// <paramref name="readings"/> is empty.
    /// </summary>
    internal static bool TryParseJson<TState>(ReadOnlySequence<byte> payload, IngestLimits limits, TState state,
        DocumentParser<TState> parse, out IReadOnlyList<Reading> readings, out Refusal refusal)
    {
        readings = [];
        if (payload.IsEmpty)
        {
            refusal = new Refusal(RefusalReason.EmptyPayload, "the payload is empty");
            return false;
        }

        if (payload.Length > limits.MaxPayloadBytes)
        {
            refusal = new Refusal(RefusalReason.PayloadTooLarge,
                $"the payload has {payload.Length} bytes; at most {limits.MaxPayloadBytes} are accepted");
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(payload, ReaderOptions);
            if (!parse(ref reader, state, out readings, out refusal))
            {
                readings = [];
                return false;
            }

            return true;
        }
        catch (JsonException ex)
        {
            refusal = new Refusal(RefusalReason.MalformedJson, $"the payload is not valid JSON: {ex.Message}");
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader reports invalid UTF-8 inside strings this way.
            refusal = new Refusal(RefusalReason.MalformedJson, $"the payload is not valid UTF-8 JSON: {ex.Message}");
        }

        readings = [];
        return false;
    }

    /// <summary>
    /// The one check of a metric name, for every payload format: 1..64 printable characters, no backslash, not
    /// starting with '_', not in <paramref name="seen"/> (<see cref="RefusalReason.InvalidMetricName"/>), and not one
    /// of the <see cref="ReservedNames"/> (<see cref="RefusalReason.MetricNameReserved"/>).
    /// </summary>
    internal static bool TryValidateMetricName(string name, IReadOnlyList<Metric> seen, out RefusalReason reason, out string problem)
    {
        problem = "";
        reason = RefusalReason.InvalidMetricName;
        if (name.Length == 0)
        {
            problem = "a metric name is empty";
        }
        else if (name.Length > IngestLimits.MaxMetricNameLength)
        {
            problem = $"metric name '{Text.Visible(name[..IngestLimits.MaxMetricNameLength])}…' is longer than {IngestLimits.MaxMetricNameLength} characters";
        }
        else if (!Text.IsPrintable(name))
        {
            problem = $"metric name '{Text.Visible(name)}' holds control characters";
        }
        else if (name.Contains('\\', StringComparison.Ordinal))
        {
            problem = $"metric name '{name}' holds a backslash, which InfluxDB line protocol cannot carry faithfully";
        }
        else if (name[0] == '_')
        {
            problem = $"metric name '{name}' starts with '_', which InfluxDB reserves";
        }
        else if (ReservedNames.Contains(name))
        {
            reason = RefusalReason.MetricNameReserved;
            problem = $"metric name '{name}' is reserved: time and the tag keys {string.Join(", ", TagKeys.All.Order(StringComparer.Ordinal))} are the schema's own names";
        }
        else if (seen.Any(m => m.Name == name))
        {
            problem = $"metric '{name}' is given twice";
        }

        return problem.Length == 0;
    }

    /// <summary>A reading's time must lie within <c>MaxAge</c> before and <c>MaxFutureSkew</c> after the receive time.</summary>
    internal static bool TryCheckTimestampRange(long timestampMs, long receivedAtMs, IngestLimits limits, string what, out Refusal refusal)
    {
        var earliest = receivedAtMs - (long)limits.MaxAge.TotalMilliseconds;
        var latest = receivedAtMs + (long)limits.MaxFutureSkew.TotalMilliseconds;
        if (timestampMs < earliest || timestampMs > latest)
        {
            // In double: a far-off timestamp (e.g. 9e18) must not overflow long subtraction or TimeSpan.
            var offsetMs = (double)timestampMs - receivedAtMs;
            refusal = new Refusal(RefusalReason.TimestampOutOfRange,
                $"{what} {FormatMs(timestampMs)} is {Describe(offsetMs)} the broker's clock; accepted are {limits.MaxAge} back to {limits.MaxFutureSkew} ahead");
            return false;
        }

        refusal = default;
        return true;
    }

    internal static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString().ToLowerInvariant(),
    };

    static string Describe(double offsetMs) =>
        offsetMs < 0
            ? string.Create(CultureInfo.InvariantCulture, $"{-offsetMs / 86_400_000:F1} days behind")
            : string.Create(CultureInfo.InvariantCulture, $"{offsetMs / 60_000:F1} minutes ahead of");

    static string FormatMs(long ms) =>
        ms >= DateTimeOffset.MinValue.ToUnixTimeMilliseconds() && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("O")
            : ms.ToString(CultureInfo.InvariantCulture);
}
