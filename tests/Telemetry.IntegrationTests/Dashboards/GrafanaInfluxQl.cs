using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Telemetry.IntegrationTests.Dashboards;

/// <summary>The current selection of a template variable. With <paramref name="Multi"/> or <paramref name="IncludeAll"/>
/// the values are formatted as a regex alternation, as Grafana does for InfluxDB ("All" = every option).</summary>
public sealed record GrafanaVariable(string Name, IReadOnlyList<string> Values, bool Multi = false, bool IncludeAll = false);

/// <summary>
/// Rewrites a raw InfluxQL target the way Grafana's InfluxDB datasource does before sending it to InfluxDB.
/// Stage 1 (template service, browser): dashboard variables, <c>$__from</c>, <c>$__to</c>, <c>$__range*</c>.
/// Stage 2 (datasource backend): <c>$timeFilter</c>, <c>$interval</c>, <c>$__interval_ms</c>, <c>$__interval</c>.
/// Unknown <c>$names</c> stay as they are, like in Grafana (InfluxDB then rejects the query).
/// </summary>
public sealed partial class GrafanaInfluxQl
{
    // Left for stage 2; Grafana deliberately keeps them out of the template service for InfluxQL.
    static readonly HashSet<string> BackendMacros = new(StringComparer.Ordinal) { "timeFilter", "interval", "__interval", "__interval_ms" };

    readonly Dictionary<string, GrafanaVariable> variables;

    public GrafanaInfluxQl(DateTimeOffset from, DateTimeOffset to, IEnumerable<GrafanaVariable>? variables = null, int maxDataPoints = 1000, TimeSpan? minInterval = null)
    {
        if (to < from)
        {
            throw new ArgumentException($"time range ends ({to:O}) before it starts ({from:O})", nameof(to));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxDataPoints);
        From = from;
        To = to;
        Interval = CalculateInterval(to - from, maxDataPoints, minInterval);
        this.variables = new Dictionary<string, GrafanaVariable>(StringComparer.Ordinal);
        foreach (var variable in variables ?? [])
        {
            this.variables[variable.Name] = variable;
        }
    }

    public DateTimeOffset From { get; }

    public DateTimeOffset To { get; }

    /// <summary>What <c>$__interval</c> stands for.</summary>
    public TimeSpan Interval { get; }

    public long FromMs => From.ToUnixTimeMilliseconds();

    public long ToMs => To.ToUnixTimeMilliseconds();

    /// <summary>The query InfluxDB receives.</summary>
    public string Interpolate(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var regexSpans = RegexLiteralSpans(query);
        var frontend = VariableReference().Replace(query, match => ReplaceVariable(match, regexSpans));
        var intervalText = FormatInterval(Interval);
        return frontend
            .Replace("$timeFilter", $"time >= {FromMs}ms and time <= {ToMs}ms", StringComparison.Ordinal)
            .Replace("$interval", intervalText, StringComparison.Ordinal)
            .Replace("$__interval_ms", ((long)Interval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("$__interval", intervalText, StringComparison.Ordinal);
    }

    string ReplaceVariable(Match match, IReadOnlyList<(int Start, int End)> regexSpans)
    {
        var name = match.Groups["n1"].Success ? match.Groups["n1"].Value
            : match.Groups["n2"].Success ? match.Groups["n2"].Value
            : match.Groups["n3"].Value;
        var format = match.Groups["f2"].Success ? match.Groups["f2"].Value
            : match.Groups["f3"].Success ? match.Groups["f3"].Value
            : null;
        if (BackendMacros.Contains(name))
        {
            return match.Value;
        }

        var rangeMs = ToMs - FromMs;
        var builtIn = name switch
        {
            "__from" => FromMs.ToString(CultureInfo.InvariantCulture),
            "__to" => ToMs.ToString(CultureInfo.InvariantCulture),
            "__range_ms" => rangeMs.ToString(CultureInfo.InvariantCulture),
            "__range_s" => Math.Round(rangeMs / 1000.0).ToString(CultureInfo.InvariantCulture),
            "__range" => Math.Round(rangeMs / 1000.0).ToString(CultureInfo.InvariantCulture) + "s",
            _ => null,
        };
        if (builtIn is not null)
        {
            return format is null or "raw"
                ? builtIn
                : throw new NotSupportedException($"format '{format}' of ${name} is not supported here");
        }

        if (!variables.TryGetValue(name, out var variable))
        {
            return match.Value;
        }

        var insideRegex = regexSpans.Any(s => match.Index > s.Start && match.Index < s.End);
        return Format(variable, format, insideRegex);
    }

    /// <summary>Grafana's default InfluxDB formatting, or an explicit <c>${var:format}</c>.</summary>
    public static string Format(GrafanaVariable variable, string? format, bool insideRegex)
    {
        ArgumentNullException.ThrowIfNull(variable);
        var values = variable.Values;
        switch (format)
        {
            case null:
                if (!variable.Multi && !variable.IncludeAll)
                {
                    var single = values.Count > 0 ? values[0] : "";
                    return insideRegex ? EscapeRegex(single) : single;
                }

                return RegexAlternation(values);
            case "regex":
                return RegexAlternation(values);
            case "raw":
            case "csv":
                return string.Join(',', values);
            case "pipe":
                return string.Join('|', values);
            case "singlequote":
                return string.Join(',', values.Select(v => "'" + v.Replace("'", "\\'", StringComparison.Ordinal) + "'"));
            case "doublequote":
                return string.Join(',', values.Select(v => "\"" + v.Replace("\"", "\\\"", StringComparison.Ordinal) + "\""));
            default:
                throw new NotSupportedException($"format '{format}' of ${variable.Name} is not supported here");
        }
    }

    static string RegexAlternation(IReadOnlyList<string> values)
    {
        var escaped = values.Select(EscapeRegex).ToList();
        return escaped.Count == 1 ? escaped[0] : "(" + string.Join('|', escaped) + ")";
    }

    /// <summary>Grafana's escapeRegex: a backslash before each of <c>\ ^ $ * + ? . ( ) | [ ] { } /</c>.</summary>
    public static string EscapeRegex(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (@"\^$*+?.()|[]{}/".Contains(c, StringComparison.Ordinal))
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    /// <summary>
    /// Grafana's interval: range / max data points rounded to a "nice" step (rangeutil.roundInterval), never below the
    /// datasource's or panel's minimum interval.
    /// </summary>
    public static TimeSpan CalculateInterval(TimeSpan range, int maxDataPoints, TimeSpan? minInterval = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxDataPoints);
        var rounded = RoundInterval(range.TotalMilliseconds / maxDataPoints);
        var lowLimit = minInterval ?? TimeSpan.FromMilliseconds(1);
        return rounded < lowLimit ? lowLimit : rounded;
    }

    // (upper bound exclusive in ms, result in ms), from Grafana's rangeutil.roundInterval.
    static readonly (double Below, long Result)[] RoundingSteps =
    [
        (10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1_500, 1_000), (3_500, 2_000),
        (7_500, 5_000), (12_500, 10_000), (17_500, 15_000), (25_000, 20_000), (45_000, 30_000), (90_000, 60_000),
        (210_000, 120_000), (450_000, 300_000), (750_000, 600_000), (1_050_000, 900_000), (1_500_000, 1_200_000),
        (2_700_000, 1_800_000), (5_400_000, 3_600_000), (9_000_000, 7_200_000), (16_200_000, 10_800_000),
        (32_400_000, 21_600_000), (86_400_000, 43_200_000), (604_800_000, 86_400_000), (1_814_400_000, 604_800_000),
        (3_628_800_000, 2_592_000_000),
    ];

    public static TimeSpan RoundInterval(double milliseconds)
    {
        foreach (var (below, result) in RoundingSteps)
        {
            if (milliseconds < below)
            {
                return TimeSpan.FromMilliseconds(result);
            }
        }

        return TimeSpan.FromMilliseconds(31_536_000_000);
    }

    /// <summary>The interval as InfluxQL duration text in the largest whole unit (Grafana's gtime.FormatInterval): 1y, 1d, 3h, 5m, 30s, 200ms.</summary>
    public static string FormatInterval(TimeSpan interval)
    {
        var ms = (long)interval.TotalMilliseconds;
        (long Unit, string Suffix)[] units = [(31_536_000_000, "y"), (86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s")];
        foreach (var (unit, suffix) in units)
        {
            if (ms >= unit)
            {
                return (ms / unit).ToString(CultureInfo.InvariantCulture) + suffix;
            }
        }

        return Math.Max(ms, 1).ToString(CultureInfo.InvariantCulture) + "ms";
    }

    /// <summary>
    /// The time range of a panel with a relative-time override (<c>timeFrom</c>): <c>now/d</c> (today so far),
    /// <c>now/w</c> (this week so far, weeks start on Monday), or <c>Nm</c>/<c>Nh</c>/<c>Nd</c>/<c>Nw</c> (the last N units).
    /// </summary>
    public static (DateTimeOffset From, DateTimeOffset To) PanelRange(DateTimeOffset from, DateTimeOffset to, string? timeFrom, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        if (string.IsNullOrEmpty(timeFrom))
        {
            return (from, to);
        }

        var now = DateTimeOffset.UtcNow;
        var local = TimeZoneInfo.ConvertTime(now, zone);
        switch (timeFrom)
        {
            case "now/d":
                return (StartOfLocalDay(local.Date, zone), now);
            case "now/w":
                var daysSinceMonday = ((int)local.DayOfWeek + 6) % 7;
                return (StartOfLocalDay(local.Date.AddDays(-daysSinceMonday), zone), now);
        }

        var relative = RelativeTime().Match(timeFrom);
        if (!relative.Success)
        {
            throw new NotSupportedException($"panel relative time '{timeFrom}' is not supported here");
        }

        var amount = int.Parse(relative.Groups[1].Value, CultureInfo.InvariantCulture);
        var span = relative.Groups[2].Value switch
        {
            "m" => TimeSpan.FromMinutes(amount),
            "h" => TimeSpan.FromHours(amount),
            "d" => TimeSpan.FromDays(amount),
            _ => TimeSpan.FromDays(7 * amount),
        };
        return (now - span, now);
    }

    static DateTimeOffset StartOfLocalDay(DateTime localDate, TimeZoneInfo zone)
    {
        var midnight = DateTime.SpecifyKind(localDate.Date, DateTimeKind.Unspecified);
        return new DateTimeOffset(midnight, zone.GetUtcOffset(midnight));
    }

    /// <summary>
    /// Where InfluxQL regex literals are: a <c>/</c> right after <c>=~</c>, <c>!~</c> or FROM opens one, the next
    /// unescaped <c>/</c> closes it. Quoted strings and identifiers are skipped.
    /// </summary>
    static List<(int Start, int End)> RegexLiteralSpans(string query)
    {
        var spans = new List<(int, int)>();
        var i = 0;
        while (i < query.Length)
        {
            var c = query[i];
            if (c is '\'' or '"')
            {
                i = SkipQuoted(query, i);
                continue;
            }

            if (c == '/' && OpensRegex(query, i))
            {
                var end = i + 1;
                while (end < query.Length && !(query[end] == '/' && query[end - 1] != '\\'))
                {
                    end++;
                }

                spans.Add((i, end));
                i = end + 1;
                continue;
            }

            i++;
        }

        return spans;
    }

    static int SkipQuoted(string query, int start)
    {
        var quote = query[start];
        var i = start + 1;
        while (i < query.Length && query[i] != quote)
        {
            i += query[i] == '\\' ? 2 : 1;
        }

        return i + 1;
    }

    static bool OpensRegex(string query, int slash)
    {
        var before = query[..slash].TrimEnd();
        return before.EndsWith("=~", StringComparison.Ordinal)
            || before.EndsWith("!~", StringComparison.Ordinal)
            || before.EndsWith(" FROM", StringComparison.OrdinalIgnoreCase);
    }

    // Grafana's template syntaxes: $name, [[name]] or [[name:format]], ${name} or ${name:format}.
    [GeneratedRegex(@"\$(?<n1>\w+)|\[\[(?<n2>\w+?)(?::(?<f2>\w+))?\]\]|\$\{(?<n3>\w+)(?::(?<f3>[^}]+))?\}")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"^(\d+)([mhdw])$")]
    private static partial Regex RelativeTime();
}
