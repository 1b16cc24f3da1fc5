using System.Globalization;
using System.Text;

namespace Telemetry.Domain.Alerts;

/// <summary>The human sentences of alerts, e.g. "temperature -9.5 °C above -15 for 5m".</summary>
public static class AlertText
{
    /// <summary>A number as people write it: invariant culture, at most three decimals.</summary>
    public static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>A duration in the registry's notation: 500ms, 30s, 5m, 1h30m, 2d.</summary>
    public static string Duration(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return "0s";
        }
        if (duration < TimeSpan.FromSeconds(1))
        {
            return $"{(long)duration.TotalMilliseconds}ms";
        }
        var text = new StringBuilder();
        Append(text, duration.Days, "d");
        Append(text, duration.Hours, "h");
        Append(text, duration.Minutes, "m");
        var seconds = duration.Seconds + (duration.Milliseconds / 1000.0);
        if (seconds > 0)
        {
            text.Append(Number(seconds)).Append('s');
        }
        return text.ToString();
    }

    static void Append(StringBuilder text, int amount, string unit)
    {
        if (amount > 0)
        {
            text.Append(amount.ToString(CultureInfo.InvariantCulture)).Append(unit);
        }
    }

    internal static string Threshold(ThresholdRule rule, double value, string? unit)
    {
        var side = rule.Above is { } above && value > above
            ? $"above {Number(above)}"
            : $"below {Number(rule.Below ?? double.NaN)}";
        return Finish(rule, $"{rule.Metric} {Number(value)}{Unit(unit)} {side}{For(rule.For)}");
    }

    internal static string Rate(RateOfChangeRule rule, double perMinute, string? unit)
    {
        var direction = perMinute >= 0 ? "rising" : "falling";
        var magnitude = Math.Abs(perMinute);
        return Finish(rule,
            $"{rule.Metric} {direction} {Number(magnitude)}{Unit(unit)}/min, limit {Number(rule.RatePerMinute)}/min{For(rule.For)}");
    }

    internal static string Stuck(StuckRule rule, double value, string? unit) =>
        Finish(rule, $"{rule.Metric} stuck at {Number(value)}{Unit(unit)}{For(rule.For)}");

    internal static string Fault(FaultCodeRule rule, double code) =>
        Finish(rule, string.Equals(rule.Metric, FaultCodeRule.DefaultMetric, StringComparison.Ordinal)
            ? $"fault code {Number(code)}"
            : $"{rule.Metric} reports fault code {Number(code)}");

    internal static string Silent(OfflineRule rule, TimeSpan silent, TimeSpan interval) =>
        Finish(rule, $"no data for {Duration(silent)} (expected every {Duration(interval)})");

    internal static string Disconnected(OfflineRule rule, TimeSpan disconnected) =>
        Finish(rule, $"disconnected for {Duration(disconnected)} without reconnecting");

    static string Unit(string? unit) => string.IsNullOrEmpty(unit) ? "" : " " + unit;

    static string For(TimeSpan duration) => duration > TimeSpan.Zero ? " for " + Duration(duration) : "";

    static string Finish(AlertRule rule, string sentence) =>
        string.IsNullOrWhiteSpace(rule.Description) ? sentence : $"{rule.Description}: {sentence}";
}
