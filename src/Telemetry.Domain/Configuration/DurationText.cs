using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Telemetry.Domain.Configuration;

/// <summary>What a duration setting allows besides the grammar.</summary>
public enum DurationRule
{
    /// <summary>Zero or more (<c>0</c>, <c>0s</c> are fine).</summary>
    NonNegative,

    /// <summary>Greater than zero.</summary>
    Positive,

    /// <summary>
    /// Any value the grammar reads, negative ones too: for settings whose value is judged by the one function that
    /// owns them (an alert rule's durations and a kind's interval: <c>AlertRuleSet.Validate</c>).
    /// </summary>
    Any,
}

/// <summary>
/// The one duration grammar of the campus registry, the simulator's scenario file and the simulator's command line
/// (docs/registry.md, "Durations"): one or more parts, each a decimal number and a unit <c>ms</c>, <c>s</c>, <c>m</c>,
/// <c>h</c> or <c>d</c>, added up (<c>500ms</c>, <c>30s</c>, <c>1.5h</c>, <c>1m30s</c>); or a bare <c>0</c>. An optional
/// leading sign applies to the whole, so that a negative value is read and refused by its rule rather than called
/// "not a duration". Units are lower case; no spaces, no exponents; at most about 3,000 years.
/// </summary>
/// <remarks>
/// Hand-written because .NET has no parser for this notation (<see cref="TimeSpan.Parse(string)"/> reads
/// <c>hh:mm:ss</c>, <see cref="System.Xml.XmlConvert.ToTimeSpan"/> ISO 8601's <c>PT1M30S</c>).
/// </remarks>
public static partial class DurationText
{
    /// <summary>The examples every "not a duration" message shows.</summary>
    public const string Examples = "500ms, 30s, 5m, 2h or 1d";

    // About 3,000 years: far beyond any sensible setting, far below TimeSpan's limit.
    const double MaxTicks = 1e18;

    /// <summary>Parses <paramref name="text"/> by the grammar above; a negative value parses.</summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (text is null || Grammar().Match(text) is not { Success: true } match)
        {
            return false;
        }

        var numbers = match.Groups["number"].Captures;
        var units = match.Groups["unit"].Captures;
        double ticks = 0;
        for (var i = 0; i < numbers.Count; i++)
        {
            var value = double.Parse(numbers[i].ValueSpan, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            ticks += value * units[i].Value switch
            {
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                _ => TimeSpan.TicksPerDay,
            };
        }

        if (!double.IsFinite(ticks) || ticks > MaxTicks)
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)Math.Round(ticks) * (match.Groups["sign"].Value == "-" ? -1 : 1));
        return true;
    }

    /// <summary>
    /// The one check of a duration setting: null when <paramref name="text"/> is a duration that
    /// <paramref name="rule"/> allows (then in <paramref name="duration"/>), otherwise what is wrong, worded to follow
    /// the setting's name (<c>"'5x' is not a duration; …"</c>, <c>"must be greater than zero, not '0s'"</c>).
    /// </summary>
    public static string? Check(string? text, DurationRule rule, out TimeSpan duration)
    {
        if (!TryParse(text, out duration))
        {
            return $"'{text}' is not a duration; write a number and a unit: {Examples} (or several: 1m30s)";
        }

        if (rule != DurationRule.Any && (duration < TimeSpan.Zero || (rule == DurationRule.Positive && duration == TimeSpan.Zero)))
        {
            duration = TimeSpan.Zero;
            return $"must be {(rule == DurationRule.Positive ? "greater than zero" : "zero or more")}, not '{text}'";
        }

        return null;
    }

    /// <summary>Writes <paramref name="duration"/> (not negative) in the grammar: <c>250ms</c>, <c>1.5s</c>, <c>2h5m</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration < TimeSpan.FromSeconds(1))
        {
            return $"{duration.TotalMilliseconds:0}ms";
        }

        var text = new StringBuilder();
        if (duration.Hours + duration.Days * 24 > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{duration.Hours + duration.Days * 24}h");
        }

        if (duration.Minutes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{duration.Minutes}m");
        }

        var seconds = duration.Seconds + duration.Milliseconds / 1000.0;
        if (seconds > 0 || text.Length == 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{seconds:0.###}s");
        }

        return text.ToString();
    }

    // A number is digits with an optional fraction (1, 1.5, 1.) or a fraction alone (.5). "ms" is tried before "m".
    [GeneratedRegex(@"^(?<sign>[+-])?(?:0|(?:(?<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?<unit>ms|s|m|h|d))+)$", RegexOptions.CultureInvariant)]
    private static partial Regex Grammar();
}
