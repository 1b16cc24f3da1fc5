using System.Globalization;

namespace Telemetry.Domain.Configuration;

/// <summary>
/// One problem found in a YAML file (the campus registry, a simulator scenario). <paramref name="Line"/> and
/// <paramref name="Column"/> are 1-based and point at the offending node (for a missing key: at the mapping that lacks
/// it). Written as <c>source:line:column: message</c>.
/// </summary>
public sealed record YamlError(string Source, int Line, int Column, string Message)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Source}:{Line}:{Column}: {Message}");

    /// <summary>The errors sorted as they stand in the file (line, then column).</summary>
    public static YamlError[] InFileOrder(IEnumerable<YamlError> errors) =>
        [.. errors.OrderBy(e => e.Line).ThenBy(e => e.Column)];
}
