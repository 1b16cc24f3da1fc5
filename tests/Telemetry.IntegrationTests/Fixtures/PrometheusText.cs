using System.Globalization;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>Reads values out of the service's <c>/metrics</c> (Prometheus text format).</summary>
public static class PrometheusText
{
    /// <summary>
    /// The sum of metric <paramref name="name"/> over all its label sets, or those holding <paramref name="label"/>
    /// (e.g. <c>reason="too_many_connections"</c>); 0 when it is not there.
    /// </summary>
    public static double Sum(string text, string name, string? label = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(name);
        return text.Split('\n')
            .Where(line => line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is ' ' or '{')
            .Where(line => label is null || line.Contains(label, StringComparison.Ordinal))
            .Sum(line =>
            {
                var rest = line.Contains('}', StringComparison.Ordinal) ? line[(line.IndexOf('}', StringComparison.Ordinal) + 1)..] : line[name.Length..];
                return double.Parse(rest.Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            });
    }
}
