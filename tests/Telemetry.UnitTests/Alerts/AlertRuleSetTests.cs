using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using static Telemetry.UnitTests.Alerts.AlertTestKit;

namespace Telemetry.UnitTests.Alerts;

/// <summary>The one check of alert rules (<see cref="AlertRuleSet.Validate"/>), rule by rule and key by key.</summary>
public class AlertRuleSetTests
{
    static readonly string[] Metrics = ["temperature", "fault"];

    /// <summary>In <see cref="Cases"/>: the problem is the rule as a whole (its <see cref="AlertRuleProblem.Key"/> is null).</summary>
    const string WholeRule = "(the rule)";

    /// <summary>Named rules and the key the check must blame (null: valid).</summary>
    public static TheoryData<string, AlertRule, string?> Cases => new()
    {
        // Threshold: the band of the issue can never clear (below + h = 8 > above − h = 7).
        { "issue band", new ThresholdRule("band", AlertSeverity.Warning, "temperature", Above: 10, Below: 5, Hysteresis: 3), "hysteresis" },
        { "band at the boundary", new ThresholdRule("band", AlertSeverity.Warning, "temperature", Above: 10, Below: 5, Hysteresis: 2.5), null },
        { "band just past it", new ThresholdRule("band", AlertSeverity.Warning, "temperature", Above: 10, Below: 5, Hysteresis: 2.5000001), "hysteresis" },
        { "band without hysteresis", new ThresholdRule("band", AlertSeverity.Warning, "temperature", Above: 10, Below: 5), null },
        { "inverted band", new ThresholdRule("band", AlertSeverity.Warning, "temperature", Above: 5, Below: 10), "below" },
        { "empty band", new ThresholdRule("band", AlertSeverity.Warning, "temperature", Above: 5, Below: 5), "below" },
        { "wide hysteresis, one side", new ThresholdRule("hot", AlertSeverity.Info, "temperature", Above: 10, Hysteresis: 1e6), null },
        { "no limit", new ThresholdRule("hot", AlertSeverity.Info, "temperature"), WholeRule },
        { "no metric", new ThresholdRule("hot", AlertSeverity.Info, "", Above: 3), "metric" },
        { "blank metric", new ThresholdRule("hot", AlertSeverity.Info, " ", Above: 3), "metric" },
        { "metric of another kind", new ThresholdRule("hot", AlertSeverity.Info, "humidity", Above: 3), "metric" },
        { "NaN above", new ThresholdRule("hot", AlertSeverity.Info, "temperature", Above: double.NaN), "above" },
        { "infinite below", new ThresholdRule("cold", AlertSeverity.Info, "temperature", Below: double.NegativeInfinity), "below" },
        { "negative hysteresis", new ThresholdRule("hot", AlertSeverity.Info, "temperature", Above: 3, Hysteresis: -0.1), "hysteresis" },
        { "NaN hysteresis", new ThresholdRule("hot", AlertSeverity.Info, "temperature", Above: 3, Hysteresis: double.NaN), "hysteresis" },
        { "negative for", new ThresholdRule("hot", AlertSeverity.Info, "temperature", Above: 3, For: TimeSpan.FromMinutes(-5)), "for" },
        { "negative clear-for", new ThresholdRule("hot", AlertSeverity.Info, "temperature", Above: 3, ClearFor: TimeSpan.FromTicks(-1)), "clear-for" },
        { "zero for", new ThresholdRule("hot", AlertSeverity.Info, "temperature", Above: 3, For: TimeSpan.Zero, ClearFor: TimeSpan.Zero), null },
        { "invalid id", new ThresholdRule("a+b", AlertSeverity.Info, "temperature", Above: 3), "id" },
        { "unknown severity", new ThresholdRule("hot", (AlertSeverity)7, "temperature", Above: 3), "severity" },
        // Rate of change.
        { "rate", new RateOfChangeRule("jump", AlertSeverity.Warning, "temperature", 2, Hysteresis: 1.9), null },
        { "zero rate", new RateOfChangeRule("jump", AlertSeverity.Warning, "temperature", 0), "rate-per-minute" },
        { "negative rate", new RateOfChangeRule("jump", AlertSeverity.Warning, "temperature", -2), "rate-per-minute" },
        { "infinite rate", new RateOfChangeRule("jump", AlertSeverity.Warning, "temperature", double.PositiveInfinity), "rate-per-minute" },
        { "hysteresis equal to the rate", new RateOfChangeRule("jump", AlertSeverity.Warning, "temperature", 2, Hysteresis: 2), "hysteresis" },
        { "rate without metric", new RateOfChangeRule("jump", AlertSeverity.Warning, "", 2), "metric" },
        // Stuck.
        { "stuck", new StuckRule("frozen", AlertSeverity.Info, "temperature", TimeSpan.FromHours(1), 0.01), null },
        { "stuck for zero", new StuckRule("frozen", AlertSeverity.Info, "temperature", TimeSpan.Zero), "for" },
        { "stuck with negative tolerance", new StuckRule("frozen", AlertSeverity.Info, "temperature", TimeSpan.FromHours(1), -1), "tolerance" },
        { "stuck with infinite tolerance", new StuckRule("frozen", AlertSeverity.Info, "temperature", TimeSpan.FromHours(1), double.PositiveInfinity), "tolerance" },
        // Offline.
        { "offline", new OfflineRule("off", AlertSeverity.Warning, 0.5, TimeSpan.FromSeconds(1)), null },
        { "offline zero intervals", new OfflineRule("off", AlertSeverity.Warning, 0), "intervals" },
        { "offline NaN intervals", new OfflineRule("off", AlertSeverity.Warning, double.NaN), "intervals" },
        { "offline zero grace", new OfflineRule("off", AlertSeverity.Warning, Grace: TimeSpan.Zero), "grace" },
        // Fault code.
        { "fault code", new FaultCodeRule("fault", AlertSeverity.Critical), null },
        { "fault code on a missing metric", new FaultCodeRule("fault", AlertSeverity.Critical, "hood_fault"), "metric" },
        { "fault code with negative for", new FaultCodeRule("fault", AlertSeverity.Critical, For: TimeSpan.FromSeconds(-1)), "for" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_rule_is_judged_by_the_key_at_fault(string name, AlertRule rule, string? faultyKey)
    {
        var problems = AlertRuleSet.Validate(Interval, [rule], Metrics);
        if (faultyKey is null)
        {
            Assert.True(problems.Count == 0, $"{name}: expected valid, got {string.Join("; ", problems)}");
            Assert.Same(rule, Assert.Single(AlertRuleSet.Create(Interval, Metrics, rule)));
            return;
        }
        var problem = Assert.Single(problems);
        Assert.Equal((0, faultyKey), (problem.RuleIndex, problem.Key ?? WholeRule));
        var error = Assert.Throws<ArgumentException>(() => AlertRuleSet.Create(Interval, Metrics, rule));
        Assert.Contains($"'{rule.Id}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem.Message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_band_of_the_issue_is_refused_with_the_largest_hysteresis_that_would_clear()
    {
        var rule = new ThresholdRule("band", AlertSeverity.Warning, "temperature", Above: 10, Below: 5, Hysteresis: 3);
        var problem = Assert.Single(AlertRuleSet.Validate(Interval, [rule]));
        Assert.Contains("could never clear", problem.Message, StringComparison.Ordinal);
        Assert.Contains("at most 2.5", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_band_at_the_boundary_clears_at_its_single_clear_value()
    {
        var rule = new ThresholdRule("band", AlertSeverity.Warning, "temperature", Above: 10, Below: 5, Hysteresis: 2.5);
        var engine = Engine([rule]);
        Assert.Single(engine.Feed(T0, 11));
        Assert.Empty(engine.Feed(T0 + Sec(30), 7.4));
        Assert.Empty(engine.Feed(T0 + Sec(60), 7.6));
        Assert.Equal(AlertEvent.Cleared, Assert.Single(engine.Feed(T0 + Sec(90), 7.5)).Event);
    }

    [Fact]
    public void Ids_are_unique_within_a_set_and_every_repeat_names_the_first()
    {
        var hot = FreezerWarm();
        var problems = AlertRuleSet.Validate(Interval, [hot, Offline(), hot, hot with { Above = 0 }]);
        Assert.Equal([(2, 0), (3, 0)], problems.Select(p => (p.RuleIndex!.Value, p.FirstIndex!.Value)));
        Assert.All(problems, p => Assert.Equal("id", p.Key));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1000)]
    public void The_interval_must_be_positive(long milliseconds)
    {
        var problem = Assert.Single(AlertRuleSet.Validate(TimeSpan.FromMilliseconds(milliseconds), [Offline()]));
        Assert.Equal((null, "interval"), (problem.RuleIndex, problem.Key));
        Assert.StartsWith("interval must be greater than zero", problem.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => AlertRuleSet.Create(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Fact]
    public void Every_problem_is_reported_not_just_the_first()
    {
        AlertRule?[] rules =
        [
            new ThresholdRule("", AlertSeverity.Info, "", Above: double.NaN, Hysteresis: -1, For: TimeSpan.FromSeconds(-1)),
            null,
            new OfflineRule("off", AlertSeverity.Info, -1, TimeSpan.FromSeconds(-1)),
        ];
        var problems = AlertRuleSet.Validate(TimeSpan.Zero, rules);
        Assert.Equal(
            [(null, "interval"), (0, "id"), (0, "metric"), (0, "above"), (0, "hysteresis"), (0, "for"), (1, null), (2, "intervals"), (2, "grace")],
            problems.Select(p => (p.RuleIndex, p.Key)));
    }

    [Fact]
    public void A_kind_written_in_code_checks_its_rules_against_its_metrics()
    {
        var metrics = new Dictionary<string, MetricSpec> { ["temperature"] = new("°C", RollupRole.None) };
        var kind = SensorKind.Create("k", metrics, Interval, FreezerWarm());
        Assert.Equal(Interval, kind.Interval);
        var error = Assert.Throws<ArgumentException>(() => SensorKind.Create("k", metrics, Interval, new FaultCodeRule("f", AlertSeverity.Info)));
        Assert.Contains("'fault' is not a metric of the kind", error.Message, StringComparison.Ordinal);
    }
}
