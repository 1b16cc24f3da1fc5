using System.Collections;
using System.Net;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Telemetry.Broker;
using Telemetry.Domain.Ingest;
using Telemetry.Grains;
using Telemetry.Service.Alerts;
using Telemetry.Service.Cluster;
using Telemetry.Service.Hosting;
using Telemetry.Service.Registry;
using Telemetry.Service.Security;
using Telemetry.Storage;
using Telemetry.Storage.Spool;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>
/// Checks environment variables meant as the service's configuration (<c>Influx__Url</c>, <c>Urls</c>) against the
/// option classes the service binds, so that a misspelt key — which .NET configuration silently ignores — is caught.
/// </summary>
public static partial class ServiceConfigurationKeys
{
    /// <summary>Every option class the service binds, by the section name it declares.</summary>
    static readonly Type[] OptionTypes =
    [
        typeof(InfluxOptions), typeof(WriterOptions), typeof(SpoolOptions), typeof(BrokerOptions), typeof(IngestLimits),
        typeof(CampusOptions), typeof(AlertOptions), typeof(SiloOptions), typeof(ApiOptions), typeof(Telemetry.Grains.Reports.ReportOptions),
    ];

    /// <summary>Keys read directly from the configuration rather than through an option class.</summary>
    static readonly string[] DirectKeys = [WebHostDefaults.ServerUrlsKey, CampusRegistryServiceCollectionExtensions.PollIntervalKey];

    public static IReadOnlyDictionary<string, Type> Sections { get; } = OptionTypes.ToDictionary(
        t => (string)(t.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue()
                      ?? throw new InvalidOperationException($"{t.Name} has no SectionName constant")),
        t => t,
        StringComparer.OrdinalIgnoreCase);

    /// <summary>True for a variable name the service reads as configuration.</summary>
    public static bool IsConfigurationVariable(string name) =>
        name.Contains("__", StringComparison.Ordinal) || string.Equals(name, WebHostDefaults.ServerUrlsKey, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Problems with the configuration variables among <paramref name="environment"/>: keys that name no option, and
    /// (for values without compose interpolation) values the binder cannot convert. Empty when all is well.
    /// </summary>
    public static IReadOnlyList<string> Problems(IEnumerable<KeyValuePair<string, string>> environment)
    {
        var variables = environment.Where(v => IsConfigurationVariable(v.Key)).ToList();
        var problems = new List<string>();

        // As the environment-variables provider does: "__" separates sections. An interpolated part of a name
        // (Broker__Users__${MQTT_DEVICE_USER}) stands for one segment.
        var keyed = new List<KeyValuePair<string, string?>>();
        foreach (var (name, value) in variables)
        {
            var key = ToKey(name);
            if (CheckKey(key) is { } problem)
            {
                problems.Add($"{name} ({key}): {problem}");
            }
            else if (!Interpolation().IsMatch(name + value) && !DirectKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                keyed.Add(KeyValuePair.Create(key, (string?)value));
            }
        }

        // Values are converted by the binder itself; an interpolated value is only known when compose runs.
        var literal = new ConfigurationBuilder().AddInMemoryCollection(keyed).Build();
        foreach (var (name, type) in Sections)
        {
            try
            {
                literal.GetSection(name).Get(type, o => o.ErrorOnUnknownConfiguration = true);
            }
            catch (InvalidOperationException e)
            {
                problems.Add($"{name}: {e.Message}");
            }
        }

        return problems;
    }

    static string ToKey(string variable) => Interpolation().Replace(variable, "interpolated").Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);

    static string? CheckKey(string key)
    {
        if (DirectKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
        {
            return null;
        }

        var segments = key.Split(ConfigurationPath.KeyDelimiter);
        if (!Sections.TryGetValue(segments[0], out var type))
        {
            return $"'{segments[0]}' is not a configuration section of the service (sections: {string.Join(", ", Sections.Keys.Order(StringComparer.Ordinal))}; " +
                   $"top-level keys: {string.Join(", ", DirectKeys)})";
        }

        return Walk(type, segments, 1);
    }

    static string? Walk(Type type, string[] segments, int index)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (index == segments.Length)
        {
            return IsValue(type) ? null : $"{type.Name} is a section, not a single value";
        }

        if (IsValue(type))
        {
            return $"'{segments[index - 1]}' is a single value; it has no '{segments[index]}'";
        }

        if (DictionaryValueType(type) is { } valueType)
        {
            return Walk(valueType, segments, index + 1);
        }

        if (ElementType(type) is { } elementType)
        {
            return int.TryParse(segments[index], out _)
                ? Walk(elementType, segments, index + 1)
                : $"'{segments[index]}' is not an index into the list {segments[index - 1]}";
        }

        var property = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .FirstOrDefault(p => string.Equals(p.Name, segments[index], StringComparison.OrdinalIgnoreCase)
                                 && (p.SetMethod is { IsPublic: true } || !IsValue(p.PropertyType)));
        return property is null
            ? $"{type.Name} has no settable property '{segments[index]}' (it has: {string.Join(", ", Settable(type))})"
            : Walk(property.PropertyType, segments, index + 1);
    }

    static IEnumerable<string> Settable(Type type) => type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.SetMethod is { IsPublic: true })
        .Select(p => p.Name);

    static bool IsValue(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(Uri) ||
        type == typeof(TimeSpan) || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) ||
        type == typeof(IPAddress);

    static Type? DictionaryValueType(Type type) => type.GetInterfaces().Append(type)
        .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>))
        ?.GetGenericArguments()[1];

    static Type? ElementType(Type type) => type.IsArray
        ? type.GetElementType()
        : type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>) && typeof(IEnumerable).IsAssignableFrom(type))
            ?.GetGenericArguments()[0];

    /// <summary>A compose interpolation: ${VAR}, ${VAR:-default}, ${VAR:?message}.</summary>
    [GeneratedRegex(@"\$\{[^}]*\}")]
    private static partial Regex Interpolation();
}
