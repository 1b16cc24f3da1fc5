using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;

namespace Telemetry.UnitTests.Alerts;

/// <summary>Shorthands for building engines and readings in the alert tests.</summary>
static class AlertTestKit
{
    public const string SensorId = "bldg-1-lab1-freezer1";
    public const long T0 = 1_700_000_000_000;
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    public static readonly IReadOnlyDictionary<string, MetricSpec> FreezerMetrics = new Dictionary<string, MetricSpec>
    {
        ["temperature"] = new("°C", RollupRole.None),
        ["fault"] = new("code", RollupRole.None),
    };

    public static ThresholdRule FreezerWarm(TimeSpan? forDuration = null, TimeSpan? clearFor = null) => new(
        "freezer-warm", AlertSeverity.Critical, "temperature", Above: -15,
        Hysteresis: 2, For: forDuration ?? TimeSpan.FromMinutes(5), ClearFor: clearFor);

    public static OfflineRule Offline(double intervals = 1.5, TimeSpan? grace = null) => new(
        "offline", AlertSeverity.Warning, intervals, grace);

    /// <summary>The rules with the test interval, through the one check every rule passes.</summary>
    public static AlertRuleSet Rules(params IReadOnlyList<AlertRule> rules) => AlertRuleSet.Create(Interval, rules);

    public static SensorAlertEngine Engine(
        IReadOnlyList<AlertRule> rules, AlertEngineState? state = null, AlertEngineOptions? options = null,
        long createdAtMs = T0) =>
        new(SensorId, Rules(rules), state, options ?? AlertEngineOptions.Default, createdAtMs, FreezerMetrics);

    public static Reading At(long ms, double value, string metric = "temperature") => new(ms, [new Metric(metric, value)]);

    public static long Sec(double seconds) => (long)(seconds * 1000);

    public static long Min(double minutes) => (long)(minutes * 60_000);

    /// <summary>Feeds a reading received the moment it was taken.</summary>
    public static IReadOnlyList<AlertTransition> Feed(this SensorAlertEngine engine, long ms, double value, string metric = "temperature") =>
        engine.OnReading(At(ms, value, metric), ms);

    /// <summary>Feeds readings every <paramref name="stepMs"/> from <paramref name="fromMs"/>, collecting all transitions.</summary>
    public static List<AlertTransition> FeedEvery(this SensorAlertEngine engine, long fromMs, long stepMs, params double[] values)
    {
        var all = new List<AlertTransition>();
        for (var i = 0; i < values.Length; i++)
        {
            all.AddRange(engine.Feed(fromMs + (i * stepMs), values[i]));
        }
        return all;
    }
}
