using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;

namespace Telemetry.UnitTests.Alerts;

/// <summary>
/// Generated registries (a seeded random generator, so every failure can be replayed by its seed) prove the loader and
/// the engine share one opinion of alert rules: the loader accepts a kind exactly when <see cref="AlertRuleSet.Validate"/>
/// accepts the same rules written in code, and whatever the loader accepts, an engine builds and runs without throwing.
/// </summary>
public class RegistryRuleProperties
{
    const string Source = "generated.yaml";
    const int KindsPerSeed = 60;
    const long T0 = 1_700_000_000_000;
    static readonly string[] KindMetrics = ["temperature", "fault"];
    // What the service saves engine state with.
    static readonly JsonSerializerOptions Json = Telemetry.Grains.Persistence.DurableFileGrainStorage.JsonOptions;

    /// <summary>A value as the registry writes it (null: the key is left out) and as code writes it.</summary>
    readonly record struct Gen<T>(string? Yaml, T Value);

    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 30)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void The_loader_accepts_exactly_what_the_rule_check_accepts_and_the_engine_runs_what_the_loader_accepts(int seed)
    {
        var random = new Random(seed);
        var (accepted, refused) = (0, 0);
        for (var i = 0; i < KindsPerSeed; i++)
        {
            var (yaml, interval, rules) = GenerateKind(random);
            var result = CampusRegistryLoader.Load(yaml, Source);
            var problems = AlertRuleSet.Validate(interval, rules, KindMetrics);
            var context = $"seed {seed}, kind {i}:\n{yaml}\nloader: {string.Join("\n", result.Errors)}\ncheck: {string.Join("; ", problems)}";
            Assert.True(result.Succeeded == (problems.Count == 0), "the loader and the rule check disagree, " + context);
            if (result.Succeeded)
            {
                accepted++;
                RunEngine(result.Registry!.Kinds["k"], random, context);
            }
            else
            {
                refused++;
                // Every refusal points into the kind's rules or its interval, as file:line:column.
                Assert.All(result.Errors, e => Assert.True(e.Source == Source && e.Line >= 4 && e.Column >= 1, context));
            }
        }
        // The generator must exercise both sides, or the property proves nothing.
        Assert.True(accepted >= KindsPerSeed / 10 && refused >= KindsPerSeed / 10, $"seed {seed}: {accepted} accepted, {refused} refused");
    }

    [Theory]
    [InlineData("above: 10, below: 5, hysteresis: 3", "hysteresis", "could never clear")]
    [InlineData("above: 10, below: 5, hysteresis: 2.6", "hysteresis", "at most 2.5")]
    [InlineData("above: 10, below: 5, hysteresis: 2.5", null, null)]
    [InlineData("above: 10, below: 5, hysteresis: 2.4", null, null)]
    [InlineData("above: 5, below: 5", "below", "must be less than above")]
    [InlineData("above: 10, hysteresis: 30", null, null)]
    [InlineData("above: 10, for: -1s", "for", "zero or more")]
    [InlineData("below: 5, clear-for: -1ms", "clear-for", "zero or more")]
    public void A_threshold_band_is_judged_by_the_loader_at_the_key_at_fault(string keys, string? faultyKey, string? fragment)
    {
        var yaml = $$"""
            campus: { id: c }
            kinds:
              k:
                interval: 1m
                metrics: { temperature: { unit: C } }
                alerts:
                  - { id: band, type: threshold, metric: temperature, severity: warning, {{keys}} }
            buildings: []
            """;
        var result = CampusRegistryLoader.Load(yaml, Source);
        if (faultyKey is null)
        {
            Assert.True(result.Succeeded, string.Join("\n", result.Errors));
            RunEngine(result.Registry!.Kinds["k"], new Random(1), yaml);
            return;
        }
        var error = Assert.Single(result.Errors);
        var line = yaml.Split('\n')[6];
        Assert.Equal((7, line.IndexOf(faultyKey + ":", StringComparison.Ordinal) + faultyKey.Length + 3), (error.Line, error.Column));
        Assert.Contains("kind 'k' alert rule 'band': ", error.Message, StringComparison.Ordinal);
        Assert.Contains(fragment!, error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"{Source}:7:{error.Column}: ", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Builds an engine from the loaded kind, feeds it readings, ticks, actions, a reload and a restore.</summary>
    static void RunEngine(SensorKind kind, Random random, string context)
    {
        var engine = new SensorAlertEngine("s", kind.Alerts, null, AlertEngineOptions.Default, T0, kind.Metrics);
        var transitions = new List<AlertTransition>();
        var now = T0;
        double[] values = [0, 1, 4.9, 5, 7.5, 10, 10.1, -3, 1e9, double.NaN, double.PositiveInfinity];
        for (var step = 0; step < 40; step++)
        {
            now += random.Next(4) == 0 ? 0 : random.Next(1, 600_000);
            var metric = KindMetrics[random.Next(KindMetrics.Length)];
            transitions.AddRange(engine.OnReading(new Reading(now, [new Metric(metric, values[random.Next(values.Length)])]), now));
            switch (random.Next(8))
            {
                case 0:
                    transitions.AddRange(engine.OnTick(now + random.Next(1, 4 * 3_600_000)));
                    break;
                case 1:
                    engine.OnDisconnected(now);
                    break;
                case 2:
                    engine.OnConnected(now);
                    break;
                case 3 when engine.Active.Count > 0:
                    engine.Acknowledge(engine.Active[0].Id, "ana", null, now);
                    break;
                case 4 when engine.Active.Count > 0:
                    engine.Clear(engine.Active[0].Id, "ana", now);
                    break;
                case 5:
                    transitions.AddRange(engine.UpdateRules(kind.Alerts, now, kind.Metrics));
                    break;
                case 6:
                    var state = JsonSerializer.Deserialize<AlertEngineState>(JsonSerializer.Serialize(engine.State, Json), Json)!;
                    engine = new SensorAlertEngine("s", kind.Alerts, state, AlertEngineOptions.Default, now, kind.Metrics);
                    break;
                default:
                    break;
            }
        }
        var ids = kind.Alerts.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        Assert.All(transitions, t => Assert.True(ids.Contains(t.Alert.Rule) && !string.IsNullOrEmpty(t.Alert.Message), context));
        Assert.True(engine.Active.Count <= kind.Alerts.Count, context);
    }

    static (string Yaml, TimeSpan Interval, AlertRule[] Rules) GenerateKind(Random random)
    {
        // Half the kinds draw only from valid values (so the engine gets plenty to run), half from everything.
        var clean = random.Next(2) == 0;
        var interval = Pick(random, Durations(("1m", 60_000), ("500ms", 500), ("0s", 0), ("-30s", -30_000)), clean ? 2 : 4);
        var rules = new AlertRule[random.Next(1, 4)];
        var yaml = new StringBuilder();
        yaml.Append(CultureInfo.InvariantCulture, $$"""
            campus: { id: c }
            kinds:
              k:
                interval: {{interval.Yaml}}
                metrics: { temperature: { unit: C }, fault: { unit: code } }
                alerts:

            """);
        for (var i = 0; i < rules.Length; i++)
        {
            var (keys, rule) = GenerateRule(random, clean ? $"r{i}" : null);
            rules[i] = rule;
            yaml.Append("      - { ").Append(string.Join(", ", keys.Where(k => k.Value is not null).Select(k => $"{k.Key}: {k.Value}"))).Append(" }\n");
        }
        yaml.Append("buildings: []\n");
        return (yaml.ToString(), interval.Value, rules);
    }

    /// <summary>A rule; with <paramref name="cleanId"/> (a unique id) only valid values are drawn.</summary>
    static (List<KeyValuePair<string, string?>> Keys, AlertRule Rule) GenerateRule(Random random, string? cleanId)
    {
        var clean = cleanId is not null;
        var id = cleanId is null
            ? Pick(random, Texts(("r0", "r0"), ("r1", "r1"), ("r2", "r2"), ("r3", "r3"), ("r4", "r4"), ("a+b", "a+b")))
            : new Gen<string>(cleanId, cleanId);
        var severity = Pick(random, Texts(("info", "info"), ("warning", "warning"), ("critical", "critical")));
        var level = Enum.Parse<AlertSeverity>(severity.Value, ignoreCase: true);
        var metric = Pick(random, Texts(("temperature", "temperature"), ("fault", "fault"),
            (null, ""), ("humidity", "humidity"), ("\"\"", "")), clean ? 2 : 5);
        var keys = new List<KeyValuePair<string, string?>> { new("id", id.Yaml), new("severity", severity.Yaml) };
        void Add(string key, string? yaml) => keys.Add(new(key, yaml));
        // Valid durations first: left out, 0s, 1ms, 30s, 5m; then negative ones.
        Gen<TimeSpan?>[] durations =
        [
            new(null, null), new("0s", TimeSpan.Zero), new("1ms", TimeSpan.FromMilliseconds(1)),
            new("30s", TimeSpan.FromSeconds(30)), new("5m", TimeSpan.FromMinutes(5)),
            new("-5m", TimeSpan.FromMinutes(-5)), new("-1ms", TimeSpan.FromMilliseconds(-1)),
        ];
        var forKey = Pick(random, durations, clean ? 5 : durations.Length);
        var clearFor = Pick(random, durations, clean ? 5 : durations.Length);
        var positive = Pick(random, durations[2..], clean ? 3 : 5); // stuck for and grace: > 0 when clean
        switch (random.Next(5))
        {
            case 0:
            {
                Add("type", "threshold");
                // Clean: a band 5…10 (or 5…1e300) with a hysteresis that lets it clear.
                var above = Pick(random, Numbers(10, 1e300, null, 5, -2, 7.5, double.NaN), clean ? 2 : 7);
                var below = Pick(random, Numbers(5, -20, null, 10, 4, double.NegativeInfinity), clean ? 2 : 6);
                var hysteresis = Pick(random, Numbers(null, 0, 1, 2.5, 2.5000001, 3, -1, double.PositiveInfinity), clean ? 4 : 8);
                Add("metric", metric.Yaml);
                Add("above", above.Yaml);
                Add("below", below.Yaml);
                Add("hysteresis", hysteresis.Yaml);
                Add("for", forKey.Yaml);
                Add("clear-for", clearFor.Yaml);
                return (keys, new ThresholdRule(id.Value, level, metric.Value, above.Value, below.Value, hysteresis.Value ?? 0,
                    forKey.Value ?? TimeSpan.Zero, clearFor.Value));
            }
            case 1:
            {
                Add("type", "rate-of-change");
                var rate = Pick(random, Numbers(2, 0.1, null, 0, -1, double.PositiveInfinity), clean ? 2 : 6);
                Add("metric", metric.Yaml);
                Add("rate-per-minute", rate.Yaml);
                Add("for", forKey.Yaml);
                Add("clear-for", clearFor.Yaml);
                return (keys, new RateOfChangeRule(id.Value, level, metric.Value, rate.Value ?? double.NaN,
                    For: forKey.Value ?? TimeSpan.Zero, ClearFor: clearFor.Value));
            }
            case 2:
            {
                Add("type", "stuck");
                var holdFor = clean ? positive : forKey;
                var tolerance = Pick(random, Numbers(null, 0, 0.01, 0.5, -0.01, double.NaN), clean ? 4 : 6);
                Add("metric", metric.Yaml);
                Add("for", holdFor.Yaml);
                Add("tolerance", tolerance.Yaml);
                return (keys, new StuckRule(id.Value, level, metric.Value, holdFor.Value ?? TimeSpan.Zero, tolerance.Value ?? 0));
            }
            case 3:
            {
                Add("type", "offline");
                var intervals = Pick(random, Numbers(null, 1.5, 3, 0.5, 0, -1, double.NaN), clean ? 4 : 7);
                var grace = random.Next(2) == 0 ? positive : forKey;
                Add("intervals", intervals.Yaml);
                Add("grace", grace.Yaml);
                return (keys, new OfflineRule(id.Value, level, intervals.Value ?? OfflineRule.DefaultIntervals, grace.Value));
            }
            default:
            {
                Add("type", "fault-code");
                Add("metric", metric.Yaml);
                return (keys, new FaultCodeRule(id.Value, level, metric.Yaml is null ? FaultCodeRule.DefaultMetric : metric.Value));
            }
        }
    }

    /// <summary>One of the first <paramref name="count"/> entries of <paramref name="pool"/> (all by default).</summary>
    static Gen<T> Pick<T>(Random random, Gen<T>[] pool, int? count = null) => pool[random.Next(count ?? pool.Length)];

    static Gen<string>[] Texts(params (string? Yaml, string Value)[] values) => [.. values.Select(v => new Gen<string>(v.Yaml, v.Value))];

    static Gen<TimeSpan>[] Durations(params (string Yaml, long Ms)[] values) =>
        [.. values.Select(v => new Gen<TimeSpan>(v.Yaml, TimeSpan.FromMilliseconds(v.Ms)))];

    /// <summary>The numbers given (null: the key is left out), as the registry writes them, non-finite ones too.</summary>
    static Gen<double?>[] Numbers(params double?[] values) =>
        [.. values.Select(v => new Gen<double?>(v?.ToString("R", CultureInfo.InvariantCulture), v))];
}
