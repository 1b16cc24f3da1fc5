using System.CommandLine;
using System.Text.RegularExpressions;
using Telemetry.DeviceSim.Cli;
using Telemetry.DeviceSim.Scenarios;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Configuration;

namespace Telemetry.UnitTests.Configuration;

/// <summary>The one duration grammar (docs/registry.md, "Durations") and proof that every reader of durations uses it.</summary>
public sealed partial class DurationTextTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("15m", 900_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("0s", 0)]
    [InlineData("0", 0)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1d2h3m4s5ms", 93_784_005)]
    [InlineData("1ms", 1)]
    [InlineData("1m5ms", 60_005)]
    [InlineData(".5s", 500)]
    [InlineData("2.s", 2_000)]
    [InlineData("+5s", 5_000)]
    [InlineData("-1m", -60_000)]
    [InlineData("-1m30s", -90_000)]
    public void Durations_parse(string text, long milliseconds)
    {
        Assert.True(DurationText.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("5")]
    [InlineData("00")]
    [InlineData("s")]
    [InlineData("ms")]
    [InlineData("5 s")]
    [InlineData(" 5s")]
    [InlineData("1 m")]
    [InlineData("5S")]
    [InlineData("5w")]
    [InlineData("5x")]
    [InlineData("1e3s")]
    [InlineData("1.5.5s")]
    [InlineData("1m-5s")]
    [InlineData("--1m")]
    [InlineData("1m30")]
    [InlineData("99999999999999d")]
    [InlineData("30000000h")]
    public void Non_durations_do_not_parse(string? text)
    {
        Assert.False(DurationText.TryParse(text, out _));
    }

    [Theory]
    [InlineData("0s", DurationRule.NonNegative, true)]
    [InlineData("0", DurationRule.NonNegative, true)]
    [InlineData("0s", DurationRule.Positive, false)]
    [InlineData("0", DurationRule.Positive, false)]
    [InlineData("1ms", DurationRule.Positive, true)]
    [InlineData("-1ms", DurationRule.NonNegative, false)]
    [InlineData("-1ms", DurationRule.Positive, false)]
    public void The_rule_decides_about_zero_and_negative_values(string text, DurationRule rule, bool allowed)
    {
        var problem = DurationText.Check(text, rule, out var duration);
        Assert.Equal(allowed, problem is null);
        if (!allowed)
        {
            Assert.Contains(rule == DurationRule.Positive ? "must be greater than zero" : "must be zero or more", problem, StringComparison.Ordinal);
            Assert.Equal(TimeSpan.Zero, duration);
        }
    }

    [Fact]
    public void A_text_that_is_no_duration_is_named_with_examples()
    {
        Assert.Equal("'soon' is not a duration; write a number and a unit: 500ms, 30s, 5m, 2h or 1d (or several: 1m30s)",
            DurationText.Check("soon", DurationRule.Positive, out _));
    }

    [Theory]
    [InlineData(250)]
    [InlineData(1_000)]
    [InlineData(1_500)]
    [InlineData(61_001)]
    [InlineData(3_600_000)]
    [InlineData(93_784_005)]
    [InlineData(172_800_000)]
    public void What_is_formatted_parses_back(long milliseconds)
    {
        var duration = TimeSpan.FromMilliseconds(milliseconds);
        Assert.True(DurationText.TryParse(DurationText.Format(duration), out var back), DurationText.Format(duration));
        Assert.Equal(duration, back);
    }

    // Texts that are plain YAML scalars, so each reader receives them unchanged.
    public static TheoryData<string> Samples =>
    [
        "500ms", "30s", "15m", "2h", "1d", "1.5h", "1m30s", "0", "0s", ".5s", "+5s", "-1m", "30", "5x", "ms", "1 m", "1e3s",
        "5S", "1m-5s", "99999999999999d",
    ];

    [Theory]
    [MemberData(nameof(Samples))]
    public void The_registry_the_scenario_file_and_the_command_line_read_durations_with_the_one_grammar(string text)
    {
        var positive = DurationText.Check(text, DurationRule.Positive, out var positiveValue);
        var nonNegative = DurationText.Check(text, DurationRule.NonNegative, out var nonNegativeValue);

        // The registry: a kind's interval is read in the grammar, and whether its value fits (greater than zero) is
        // judged by AlertRuleSet.Validate, the one check of a kind's interval and rules.
        var registry = CampusRegistryLoader.Load($"campus: {{ id: c }}\nkinds:\n  t:\n    interval: {text}\n    metrics: {{ t: {{ unit: C }} }}\nbuildings: []\n", "r.yaml");
        if (positive is null)
        {
            Assert.Empty(registry.Errors);
            Assert.Equal(positiveValue, registry.Registry!.Kinds["t"].Interval);
        }
        else if (DurationText.TryParse(text, out _))
        {
            var error = Assert.Single(registry.Errors).ToString();
            Assert.StartsWith("r.yaml:4:15: kind 't' interval must be greater than zero, not ", error, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal([$"r.yaml:4:15: kind 't' interval {positive}"], registry.Errors.Select(e => e.ToString()));
        }

        // The scenario file: a fault's start may be zero, its duration must be greater than zero.
        var scenario = ScenarioLoader.Load($"faults:\n  - {{ at: {text}, sensor: s, fault: offline, duration: {text} }}\n", "s.yaml");
        string[] scenarioErrors =
        [
            .. nonNegative is null ? Array.Empty<string>() : [$"s.yaml:2:11: faults[0].at {nonNegative}"],
            .. positive is null ? Array.Empty<string>() : [$"s.yaml:2:{50 + text.Length}: faults[0].duration {positive}"],
        ];
        Assert.Equal(scenarioErrors, scenario.Errors);
        if (scenarioErrors.Length == 0)
        {
            var fault = Assert.Single(scenario.Scenario!.Faults);
            Assert.Equal((nonNegativeValue, positiveValue), (fault.At, fault.Duration));
        }

        // The command line: --duration must be greater than zero, --warmup may be zero.
        var duration = DurationOption.Create("--duration", "");
        var warmup = DurationOption.Create("--warmup", "", allowZero: true);
        var command = new RootCommand { duration, warmup };
        var durationParse = command.Parse(["--duration", text]);
        Assert.Equal(positive is null ? Array.Empty<string>() : [$"--duration {positive}."], durationParse.Errors.Select(e => e.Message));
        Assert.Equal(positive is null ? positiveValue : null, durationParse.Errors.Count == 0 ? durationParse.GetValue(duration) : null);
        var warmupParse = command.Parse(["--warmup", text]);
        Assert.Equal(nonNegative is null ? Array.Empty<string>() : [$"--warmup {nonNegative}."], warmupParse.Errors.Select(e => e.Message));
        Assert.Equal(nonNegative is null ? nonNegativeValue : null, warmupParse.Errors.Count == 0 ? warmupParse.GetValue(warmup) : null);

        // The command line's --fault FAULT:SENSOR@AT+DURATION, where the text fits its shape.
        if (FaultShape().IsMatch(text))
        {
            var parsed = FaultSpec.TryParse($"offline:s@{text}+{text}", out var fault, out var error);
            Assert.Equal(nonNegative is null && positive is null, parsed);
            Assert.Equal(nonNegative is not null ? $"AT {nonNegative}" : positive is not null ? $"DURATION {positive}" : "", error);
            Assert.Equal(parsed ? (nonNegativeValue, positiveValue) : default, fault is null ? default : (fault.At, fault.Duration));
        }
    }

    [GeneratedRegex("^[0-9.a-z]+$")]
    private static partial Regex FaultShape();
}
