using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;

namespace Telemetry.Domain.Ingest;

/// <summary>
/// Parses an RFC 8428 SenML JSON pack (topic <c>campus/{building}/{room}/{sensor}/senml</c>) into readings: records with
/// the same resolved time become one reading, sorted by time. Same limits, name rules, timestamp window and refusal
/// style as <see cref="PayloadParser"/>; a message is accepted or refused whole. The rules are in docs/contract.md.
/// </summary>
public static class SenmlParser
{
    /// <summary>The highest SenML version (<c>bver</c>) understood; RFC 8428 is version 10.</summary>
    public const int SupportedVersion = 10;

    /// <summary>Resolved times below 2^28 s are relative to the receive time (RFC 8428 §4.5.3).</summary>
    public const double RelativeTimeLimitSeconds = 268_435_456;

    // Past this a time in seconds cannot become epoch milliseconds in a long; it is far out of any accepted window anyway.
    const double MaxAbsSeconds = 9e12;

    static readonly char[] NameSeparators = [':', '/', '-', '.', '_'];
    static readonly char[] UriSeparators = ['/', ':'];

    public static bool TryParse(
        ReadOnlySequence<byte> payload,
        string sensorId,
        long receivedAtMs,
        IngestLimits limits,
        IReadOnlyDictionary<string, MetricSpec>? metricSpecs,
        out IReadOnlyList<Reading> readings,
        out Refusal refusal)
    {
        ArgumentNullException.ThrowIfNull(sensorId);
        ArgumentNullException.ThrowIfNull(limits);
        return IngestRules.TryParseJson(payload, limits, new Context(sensorId, receivedAtMs, limits, metricSpecs), TryParsePack, out readings, out refusal);
    }

    public static bool TryParse(
        ReadOnlySpan<byte> payload, string sensorId, long receivedAtMs, IngestLimits limits,
        IReadOnlyDictionary<string, MetricSpec>? metricSpecs, out IReadOnlyList<Reading> readings, out Refusal refusal) =>
        TryParse(new ReadOnlySequence<byte>(payload.ToArray()), sensorId, receivedAtMs, limits, metricSpecs, out readings, out refusal);

    /// <summary>
    /// The metric a resolved SenML name (bn + n) stands for. A name that starts with the sensor id followed by ':', '/',
    /// '-', '.' or '_' gives the rest ("bldg-1-r101-temp:temperature" → "temperature"); any other name gives its part
    /// after the last '/' or ':' ("urn:dev:mac:0024befffe804ff1/temperature" → "temperature"), or the whole name
    /// when it has neither ("temperature").
    /// </summary>
    public static string MetricName(string resolvedName, string sensorId)
    {
        ArgumentNullException.ThrowIfNull(resolvedName);
        ArgumentNullException.ThrowIfNull(sensorId);
        if (sensorId.Length > 0
            && resolvedName.Length > sensorId.Length
            && resolvedName.StartsWith(sensorId, StringComparison.Ordinal)
            && Array.IndexOf(NameSeparators, resolvedName[sensorId.Length]) >= 0)
        {
            return resolvedName[(sensorId.Length + 1)..];
        }

        var cut = resolvedName.LastIndexOfAny(UriSeparators);
        return cut < 0 ? resolvedName : resolvedName[(cut + 1)..];
    }

    sealed record Context(string SensorId, long ReceivedAtMs, IngestLimits Limits, IReadOnlyDictionary<string, MetricSpec>? Specs);

    /// <summary>Base fields in force: set by a record, they apply to it and to the records after it until changed.</summary>
    sealed class Bases
    {
        public string Name = "";
        public double Time;
        public string? Unit;
        public double Value;
        public double Sum;
    }

    /// <summary>The fields of one record as written.</summary>
    sealed class RawRecord
    {
        public readonly HashSet<string> Seen = new(StringComparer.Ordinal);
        public string? BaseName, Name, BaseUnit, Unit, StringValueField;
        public double? BaseTime, Time, BaseValue, Value, BaseSum, Sum;
        public bool? BoolValue;
        public long? BaseVersion;
    }

    static bool TryParsePack(ref Utf8JsonReader reader, Context context, out IReadOnlyList<Reading> readings, out Refusal refusal)
    {
        readings = [];
        reader.Read();
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            refusal = new Refusal(RefusalReason.NotAReading,
                "the payload is a single JSON object; a SenML pack is a JSON array of records, e.g. [{\"n\":\"temperature\",\"u\":\"Cel\",\"v\":21.5}]");
            return false;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            refusal = new Refusal(RefusalReason.NotAReading,
                $"the payload is a JSON {IngestRules.Describe(reader.TokenType)}; a SenML pack is a JSON array of records");
            return false;
        }

        var bases = new Bases();
        var byTime = new Dictionary<long, List<Metric>>();
        var records = 0;
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                break;
            }

            var prefix = $"record {records}: ";
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                refusal = new Refusal(RefusalReason.NotAReading,
                    $"record {records} of the pack is a JSON {IngestRules.Describe(reader.TokenType)}; expected an object");
                return false;
            }

            if (!TryReadRecord(ref reader, prefix, out var raw, out refusal)
                || !TryResolve(raw, prefix, context, bases, byTime, out refusal))
            {
                return false;
            }

            records++;
        }

        if (reader.Read())
        {
            refusal = new Refusal(RefusalReason.MalformedJson, "the payload has content after its JSON value");
            return false;
        }

        if (byTime.Count == 0)
        {
            refusal = new Refusal(RefusalReason.NoMetrics,
                records == 0 ? "the SenML pack holds no records" : "the SenML pack holds no record with a value (v, vb or s)");
            return false;
        }

        readings = [.. byTime.OrderBy(kv => kv.Key).Select(kv => new Reading(kv.Key, kv.Value))];
        refusal = default;
        return true;
    }

    static bool TryReadRecord(ref Utf8JsonReader reader, string prefix, out RawRecord raw, out Refusal refusal)
    {
        raw = new RawRecord();
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                refusal = default;
                return true;
            }

            // Inside an object the reader guarantees a property name here.
            var field = reader.GetString()!;
            reader.Read();
            if (!raw.Seen.Add(field))
            {
                refusal = new Refusal(RefusalReason.NotAReading, $"{prefix}field '{Shorten(field)}' is given twice");
                return false;
            }

            var ok = field switch
            {
                "bn" => TryString(ref reader, prefix, field, out raw.BaseName, out refusal),
                "n" => TryString(ref reader, prefix, field, out raw.Name, out refusal),
                "bu" => TryString(ref reader, prefix, field, out raw.BaseUnit, out refusal),
                "u" => TryString(ref reader, prefix, field, out raw.Unit, out refusal),
                "bt" => TryTime(ref reader, prefix, field, out raw.BaseTime, out refusal),
                "t" => TryTime(ref reader, prefix, field, out raw.Time, out refusal),
                "bv" => TryNumber(ref reader, prefix, field, out raw.BaseValue, out refusal),
                "v" => TryNumber(ref reader, prefix, field, out raw.Value, out refusal),
                "bs" => TryNumber(ref reader, prefix, field, out raw.BaseSum, out refusal),
                "s" => TryNumber(ref reader, prefix, field, out raw.Sum, out refusal),
                "vb" => TryBool(ref reader, prefix, out raw.BoolValue, out refusal),
                "bver" => TryVersion(ref reader, prefix, out raw.BaseVersion, out refusal),
                "vs" or "vd" => SkipStringValue(ref reader, field, raw, out refusal),
                "ut" => Skip(ref reader, out refusal),
                _ when field.EndsWith('_') => MustUnderstand(prefix, field, out refusal),
                _ => Skip(ref reader, out refusal),
            };

            if (!ok)
            {
                return false;
            }
        }
    }

    static bool TryResolve(
        RawRecord raw, string prefix, Context context, Bases bases, Dictionary<long, List<Metric>> byTime, out Refusal refusal)
    {
        if (raw.BaseVersion is { } version && version > SupportedVersion)
        {
            refusal = new Refusal(RefusalReason.NotAReading,
                $"{prefix}bver {version} is a newer SenML version than {SupportedVersion}, the version this service reads");
            return false;
        }

        bases.Name = raw.BaseName ?? bases.Name;
        bases.Time = raw.BaseTime ?? bases.Time;
        bases.Unit = raw.BaseUnit ?? bases.Unit;
        bases.Value = raw.BaseValue ?? bases.Value;
        bases.Sum = raw.BaseSum ?? bases.Sum;

        var name = bases.Name + (raw.Name ?? "");
        if (raw.StringValueField is { } stringField)
        {
            refusal = new Refusal(RefusalReason.NonNumericMetric,
                $"{prefix}'{Shorten(name)}' carries a {(stringField == "vs" ? "string" : "data")} value ({stringField}); only numeric values (v, vb, s) are stored");
            return false;
        }

        var valueFields = (raw.Value is null ? 0 : 1) + (raw.BoolValue is null ? 0 : 1);
        if (valueFields > 1)
        {
            refusal = new Refusal(RefusalReason.NotAReading, $"{prefix}the record has both v and vb; a record carries one value");
            return false;
        }

        if (valueFields == 0 && raw.Sum is null)
        {
            // A record of base fields only sets the bases for the records after it.
            if (raw.Name is null && raw.Time is null && raw.Unit is null)
            {
                refusal = default;
                return true;
            }

            refusal = new Refusal(RefusalReason.NoMetrics, $"{prefix}'{Shorten(name)}' has no value (v, vb or s)");
            return false;
        }

        double value = raw.Value is { } v ? bases.Value + v
            : raw.BoolValue is { } b ? (b ? 1 : 0)
            : bases.Sum + raw.Sum!.Value;
        if (!double.IsFinite(value))
        {
            refusal = new Refusal(RefusalReason.NonFiniteMetric, $"{prefix}the value of '{Shorten(name)}' does not fit a finite 64-bit float");
            return false;
        }

        if (name.Length == 0)
        {
            refusal = new Refusal(RefusalReason.InvalidMetricName, $"{prefix}the record has no name (bn + n is empty)");
            return false;
        }

        var metric = MetricName(name, context.SensorId);

        var seconds = bases.Time + (raw.Time ?? 0);
        if (!double.IsFinite(seconds) || Math.Abs(seconds) > MaxAbsSeconds)
        {
            refusal = new Refusal(RefusalReason.TimestampOutOfRange, $"{prefix}time bt + t = {seconds.ToString("R", CultureInfo.InvariantCulture)} s is out of any accepted range");
            return false;
        }

        var offsetMs = (long)Math.Round(seconds * 1000, MidpointRounding.AwayFromZero);
        var timestampMs = seconds < RelativeTimeLimitSeconds ? context.ReceivedAtMs + offsetMs : offsetMs;
        if (!IngestRules.TryCheckTimestampRange(timestampMs, context.ReceivedAtMs, context.Limits, $"{prefix}time", out refusal))
        {
            return false;
        }

        var unit = raw.Unit ?? bases.Unit;
        if (context.Specs is not null && context.Specs.TryGetValue(metric, out var spec) && spec is not null)
        {
            if (!SenmlUnits.TryConvert(value, unit, spec.Unit, out value, out var unitProblem))
            {
                refusal = new Refusal(RefusalReason.UnitMismatch, $"{prefix}metric '{metric}': {unitProblem}");
                return false;
            }

            if (!double.IsFinite(value))
            {
                refusal = new Refusal(RefusalReason.NonFiniteMetric, $"{prefix}metric '{metric}' does not fit a finite 64-bit float in '{spec.Unit}'");
                return false;
            }
        }

        if (!byTime.TryGetValue(timestampMs, out var metrics))
        {
            if (byTime.Count == context.Limits.MaxReadingsPerMessage)
            {
                refusal = new Refusal(RefusalReason.TooManyValues,
                    $"{prefix}the pack has more than {context.Limits.MaxReadingsPerMessage} distinct times (readings)");
                return false;
            }

            metrics = [];
            byTime[timestampMs] = metrics;
        }

        if (!IngestRules.TryValidateMetricName(metric, metrics, out var nameReason, out var nameProblem))
        {
            var problem = nameProblem.Contains("given twice", StringComparison.Ordinal)
                ? $"{nameProblem} for the same time"
                : nameProblem;
            refusal = new Refusal(nameReason, $"{prefix}{problem} (SenML name '{Shorten(name)}')");
            return false;
        }

        if (metrics.Count == context.Limits.MaxMetricsPerReading)
        {
            refusal = new Refusal(RefusalReason.TooManyValues,
                $"{prefix}the reading at this time has more than {context.Limits.MaxMetricsPerReading} metrics");
            return false;
        }

        metrics.Add(new Metric(metric, value));
        refusal = default;
        return true;
    }

    static bool TryString(ref Utf8JsonReader reader, string prefix, string field, out string? value, out Refusal refusal)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.String)
        {
            refusal = new Refusal(RefusalReason.NotAReading,
                $"{prefix}{field} is a JSON {IngestRules.Describe(reader.TokenType)}; expected a string");
            reader.Skip();
            return false;
        }

        value = reader.GetString()!;
        refusal = default;
        return true;
    }

    static bool TryTime(ref Utf8JsonReader reader, string prefix, string field, out double? value, out Refusal refusal) =>
        TryFinite(ref reader, prefix, field, RefusalReason.InvalidTimestamp, RefusalReason.InvalidTimestamp, "a number of seconds", out value, out refusal);

    static bool TryNumber(ref Utf8JsonReader reader, string prefix, string field, out double? value, out Refusal refusal) =>
        TryFinite(ref reader, prefix, field, RefusalReason.NonNumericMetric, RefusalReason.NonFiniteMetric, "a number", out value, out refusal);

    /// <summary>A JSON number that fits a finite double; the refusal reasons are the field's (time or value).</summary>
    static bool TryFinite(ref Utf8JsonReader reader, string prefix, string field, RefusalReason notANumber, RefusalReason notFinite,
        string expected, out double? value, out Refusal refusal)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.Number)
        {
            refusal = new Refusal(notANumber, $"{prefix}{field} is a JSON {IngestRules.Describe(reader.TokenType)}; expected {expected}");
            reader.Skip();
            return false;
        }

        if (!reader.TryGetDouble(out var number) || !double.IsFinite(number))
        {
            refusal = new Refusal(notFinite, $"{prefix}{field} does not fit a finite 64-bit float");
            return false;
        }

        value = number;
        refusal = default;
        return true;
    }

    static bool TryBool(ref Utf8JsonReader reader, string prefix, out bool? value, out Refusal refusal)
    {
        value = null;
        if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
        {
            refusal = new Refusal(RefusalReason.NonNumericMetric,
                $"{prefix}vb is a JSON {IngestRules.Describe(reader.TokenType)}; expected true or false");
            reader.Skip();
            return false;
        }

        value = reader.TokenType == JsonTokenType.True;
        refusal = default;
        return true;
    }

    static bool TryVersion(ref Utf8JsonReader reader, string prefix, out long? value, out Refusal refusal)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var version) || version < 1)
        {
            refusal = new Refusal(RefusalReason.NotAReading, $"{prefix}bver is not a positive integer");
            reader.Skip();
            return false;
        }

        value = version;
        refusal = default;
        return true;
    }

    static bool SkipStringValue(ref Utf8JsonReader reader, string field, RawRecord raw, out Refusal refusal)
    {
        // Refused once the record's name is known, so the reason can name it.
        raw.StringValueField = field;
        return Skip(ref reader, out refusal);
    }

    static bool Skip(ref Utf8JsonReader reader, out Refusal refusal)
    {
        reader.Skip();
        refusal = default;
        return true;
    }

    static bool MustUnderstand(string prefix, string field, out Refusal refusal)
    {
        refusal = new Refusal(RefusalReason.NotAReading,
            $"{prefix}field '{Shorten(field)}' ends in '_', so it must be understood (RFC 8428 §4.4), and this service does not know it");
        return false;
    }

    static string Shorten(string text) => Text.Visible(text.Length > 80 ? text[..80] + "…" : text);
}
