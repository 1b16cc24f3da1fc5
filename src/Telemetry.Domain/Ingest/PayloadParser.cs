using System.Buffers;
using System.Text;
using System.Text.Json;
using Telemetry.Contracts;

namespace Telemetry.Domain.Ingest;

/// <summary>
/// Parses a telemetry payload: one reading object <c>{"ts":…,"temperature":21.5}</c> or a JSON array of them.
/// A message is accepted or refused whole: one bad reading refuses the message, with the reason and its index.
/// </summary>
public static class PayloadParser
{
    const string TimestampProperty = "ts";

    public static bool TryParse(
        ReadOnlySequence<byte> payload,
        long receivedAtMs,
        IngestLimits limits,
        out IReadOnlyList<Reading> readings,
        out Refusal refusal)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return IngestRules.TryParseJson(payload, limits, (receivedAtMs, limits),
            static (ref Utf8JsonReader reader, (long ReceivedAtMs, IngestLimits Limits) state, out IReadOnlyList<Reading> readings, out Refusal refusal) =>
                TryParseDocument(ref reader, state.ReceivedAtMs, state.Limits, out readings, out refusal),
            out readings, out refusal);
    }

    public static bool TryParse(
        ReadOnlySpan<byte> payload, long receivedAtMs, IngestLimits limits,
        out IReadOnlyList<Reading> readings, out Refusal refusal) =>
        TryParse(new ReadOnlySequence<byte>(payload.ToArray()), receivedAtMs, limits, out readings, out refusal);

    static bool TryParseDocument(
        ref Utf8JsonReader reader, long receivedAtMs, IngestLimits limits,
        out IReadOnlyList<Reading> readings, out Refusal refusal)
    {
        readings = [];
        reader.Read();
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                if (!TryParseReading(ref reader, receivedAtMs, limits, prefix: "", out var single, out _, out refusal))
                {
                    return false;
                }

                readings = [single];
                break;

            case JsonTokenType.StartArray:
                if (!TryParseBatch(ref reader, receivedAtMs, limits, out readings, out refusal))
                {
                    return false;
                }

                break;

            default:
                refusal = new Refusal(RefusalReason.NotAReading,
                    $"the payload is a JSON {IngestRules.Describe(reader.TokenType)}; expected a reading object or an array of them");
                return false;
        }

        if (reader.Read())
        {
            refusal = new Refusal(RefusalReason.MalformedJson, "the payload has content after its JSON value");
            return false;
        }

        refusal = default;
        return true;
    }

    static bool TryParseBatch(
        ref Utf8JsonReader reader, long receivedAtMs, IngestLimits limits,
        out IReadOnlyList<Reading> readings, out Refusal refusal)
    {
        var list = new List<Reading>();
        readings = list;
        var withoutTimestamp = 0;
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                break;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                refusal = new Refusal(RefusalReason.NotAReading,
                    $"reading {list.Count} of the batch is a JSON {IngestRules.Describe(reader.TokenType)}; expected an object");
                return false;
            }

            if (list.Count == limits.MaxReadingsPerMessage)
            {
                refusal = new Refusal(RefusalReason.TooManyValues,
                    $"the batch has more than {limits.MaxReadingsPerMessage} readings");
                return false;
            }

            if (!TryParseReading(ref reader, receivedAtMs, limits, $"reading {list.Count}: ", out var reading, out var hadTimestamp, out refusal))
            {
                return false;
            }

            if (!hadTimestamp)
            {
                withoutTimestamp++;
            }

            list.Add(reading);
        }

        if (list.Count == 0)
        {
            refusal = new Refusal(RefusalReason.NoMetrics, "the batch holds no readings");
            return false;
        }

        if (list.Count > 1 && withoutTimestamp > 0)
        {
            // Without their own timestamps the readings of a batch would all get the receive time and overwrite each other.
            refusal = new Refusal(RefusalReason.InvalidTimestamp,
                $"{withoutTimestamp} of the {list.Count} readings of the batch have no ts; every reading of a batch needs its own ts");
            return false;
        }

        refusal = default;
        return true;
    }

    static bool TryParseReading(
        ref Utf8JsonReader reader, long receivedAtMs, IngestLimits limits, string prefix,
        out Reading reading, out bool hadTimestamp, out Refusal refusal)
    {
        reading = null!;
        hadTimestamp = false;
        long timestampMs = receivedAtMs;
        var metrics = new List<Metric>();

        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            // Inside an object the reader guarantees a property name here.
            var name = reader.GetString()!;
            reader.Read();

            if (name == TimestampProperty)
            {
                if (hadTimestamp)
                {
                    refusal = new Refusal(RefusalReason.InvalidTimestamp, $"{prefix}ts is given twice");
                    return false;
                }

                hadTimestamp = true;
                if (!TryReadTimestamp(ref reader, out timestampMs, out var problem))
                {
                    refusal = new Refusal(RefusalReason.InvalidTimestamp, $"{prefix}{problem}");
                    return false;
                }

                continue;
            }

            if (!IngestRules.TryValidateMetricName(name, metrics, out var nameReason, out var nameProblem))
            {
                refusal = new Refusal(nameReason, $"{prefix}{nameProblem}");
                reader.Skip();
                return false;
            }

            if (reader.TokenType != JsonTokenType.Number)
            {
                refusal = new Refusal(RefusalReason.NonNumericMetric,
                    $"{prefix}metric '{Text.Visible(name)}' is a JSON {IngestRules.Describe(reader.TokenType)}; expected a number");
                return false;
            }

            if (!reader.TryGetDouble(out var value) || !double.IsFinite(value))
            {
                refusal = new Refusal(RefusalReason.NonFiniteMetric,
                    $"{prefix}metric '{Text.Visible(name)}' does not fit a finite 64-bit float");
                return false;
            }

            if (metrics.Count == limits.MaxMetricsPerReading)
            {
                refusal = new Refusal(RefusalReason.TooManyValues,
                    $"{prefix}the reading has more than {limits.MaxMetricsPerReading} metrics");
                return false;
            }

            metrics.Add(new Metric(name, value));
        }

        if (metrics.Count == 0)
        {
            refusal = new Refusal(RefusalReason.NoMetrics, $"{prefix}the reading has no metrics");
            return false;
        }

        if (!IngestRules.TryCheckTimestampRange(timestampMs, receivedAtMs, limits, $"{prefix}ts", out refusal))
        {
            return false;
        }

        reading = new Reading(timestampMs, metrics);
        refusal = default;
        return true;
    }

    static bool TryReadTimestamp(ref Utf8JsonReader reader, out long timestampMs, out string problem)
    {
        timestampMs = 0;
        problem = "";
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out timestampMs))
                {
                    return true;
                }

                problem = "ts is a number but not an integer of Unix epoch milliseconds";
                return false;

            case JsonTokenType.String:
                var text = reader.GetString()!;
                if (Rfc3339.TryParse(text, out var value))
                {
                    timestampMs = value.ToUnixTimeMilliseconds();
                    return true;
                }

                problem = $"ts '{Text.Visible(text.Length > 40 ? text[..40] : text)}' is not an RFC 3339 date-time with an offset (e.g. 2026-11-28T10:15:00.250Z)";
                return false;

            default:
                problem = $"ts is a JSON {IngestRules.Describe(reader.TokenType)}; expected an RFC 3339 string or an integer of epoch milliseconds";
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }

                return false;
        }
    }

    /// <summary>Encodes a reading object; the inverse of the parser for one reading (used by tools and tests).</summary>
    public static string Format(Reading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        var sb = new StringBuilder();
        sb.Append("{\"ts\":").Append(reading.TimestampMs);
        foreach (var m in reading.Metrics)
        {
            sb.Append(',').Append(JsonSerializer.Serialize(m.Name)).Append(':').Append(m.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        }

        return sb.Append('}').ToString();
    }
}
