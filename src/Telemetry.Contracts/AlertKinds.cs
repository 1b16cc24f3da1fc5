using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Telemetry.Contracts;

/// <summary>How urgent an alert is; a rule's <c>severity</c> in the registry. Ordered: a larger value is more urgent.</summary>
[GenerateSerializer, JsonConverter(typeof(WireEnumConverter))]
public enum AlertSeverity
{
    Info,
    Warning,
    Critical,
}

/// <summary>The kind of an alert rule (docs/alerts.md).</summary>
[GenerateSerializer, JsonConverter(typeof(WireEnumConverter))]
public enum AlertRuleType
{
    /// <summary>Value above <c>above</c> and/or below <c>below</c> for at least <c>for</c>; clears past the hysteresis.</summary>
    Threshold,
    /// <summary>Value changes faster than <c>rate-per-minute</c> (absolute change per minute).</summary>
    RateOfChange,
    /// <summary>Value changes by no more than <c>tolerance</c> over <c>for</c>.</summary>
    Stuck,
    /// <summary>No data for <c>intervals</c> × the kind's interval, or disconnected without reconnect within <c>grace</c>.</summary>
    Offline,
    /// <summary>The device reports a non-zero fault code in its fault metric (default <c>fault</c>).</summary>
    FaultCode,
}

/// <summary>Where an alert is in its lifecycle.</summary>
[GenerateSerializer, JsonConverter(typeof(WireEnumConverter))]
public enum AlertState
{
    /// <summary>Raised and nobody has acknowledged it yet.</summary>
    Active,
    /// <summary>Raised and acknowledged; still clears by itself when its condition ends.</summary>
    Acknowledged,
    /// <summary>Over: cleared automatically (cleared by "auto"), by a person, or by a rule change.</summary>
    Cleared,
}

/// <summary>A lifecycle step of an alert.</summary>
[GenerateSerializer, JsonConverter(typeof(WireEnumConverter))]
public enum AlertEvent
{
    Raised,
    Acknowledged,
    Cleared,
}

/// <summary>
/// The one spelling of the alert enums outside the process: kebab-case (<c>rate-of-change</c>, <c>critical</c>,
/// <c>acknowledged</c>) in JSON (API, webhooks, MQTT payloads, persisted state), InfluxDB tags and the registry file.
/// </summary>
public static class WireName
{
    static readonly ConcurrentDictionary<Enum, string> Names = new();

    /// <summary>The kebab-case name of <paramref name="value"/>, e.g. <c>RateOfChange</c> → <c>rate-of-change</c>.</summary>
    public static string Of<T>(T value) where T : struct, Enum =>
        Names.GetOrAdd(value, v => JsonNamingPolicy.KebabCaseLower.ConvertName(v.ToString()));

    /// <summary>
    /// Reads a wire name back. Accepts the kebab-case name and, for state saved by earlier versions, the member name
    /// in any case (<c>RateOfChange</c>, <c>CRITICAL</c>); nothing else (no numbers).
    /// </summary>
    public static bool TryParse<T>(string? text, out T value) where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (string.Equals(text, Of(candidate), StringComparison.Ordinal)
                || string.Equals(text, candidate.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>The wire names of every value of <typeparamref name="T"/>, for error messages.</summary>
    public static string All<T>() where T : struct, Enum => string.Join(", ", Enum.GetValues<T>().Select(v => Of(v)));
}

/// <summary>Serialises the alert enums by <see cref="WireName"/>, as values and as dictionary keys.</summary>
public sealed class WireEnumConverter : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert == typeof(AlertSeverity) || typeToConvert == typeof(AlertRuleType)
        || typeToConvert == typeof(AlertState) || typeToConvert == typeof(AlertEvent);

    public override JsonConverter? CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter?)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert));

    sealed class Converter<T> : JsonConverter<T> where T : struct, Enum
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String ? Parse(reader.GetString()) : throw new JsonException(
                $"{typeof(T).Name} must be a string, one of {WireName.All<T>()}");

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WriteStringValue(WireName.Of(value));

        public override T ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Parse(reader.GetString());

        public override void WriteAsPropertyName(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WritePropertyName(WireName.Of(value));

        static T Parse(string? text) => WireName.TryParse<T>(text, out var value)
            ? value
            : throw new JsonException($"'{text}' is not a {typeof(T).Name}; expected one of {WireName.All<T>()}");
    }
}
