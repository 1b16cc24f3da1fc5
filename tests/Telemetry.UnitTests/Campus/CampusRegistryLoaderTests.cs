using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Configuration;

namespace Telemetry.UnitTests.Campus;

/// <summary>
/// The registry loader. Line and column numbers in the assertions are counted by hand in the YAML text of each test
/// (1-based; line 1 is the first line of the raw string).
/// </summary>
public class CampusRegistryLoaderTests
{
    const string Source = "test.yaml";

    static CampusRegistry Loads(string yaml)
    {
        var result = CampusRegistryLoader.Load(yaml, Source);
        Assert.True(result.Succeeded, "expected no errors, got:\n" + string.Join("\n", result.Errors));
        Assert.Empty(result.Errors);
        return Assert.IsType<CampusRegistry>(result.Registry);
    }

    static IReadOnlyList<YamlError> Fails(string yaml)
    {
        var result = CampusRegistryLoader.Load(yaml, Source);
        Assert.False(result.Succeeded);
        Assert.Null(result.Registry);
        Assert.NotEmpty(result.Errors);
        Assert.All(result.Errors, e => Assert.Equal(Source, e.Source));
        return result.Errors;
    }

    static YamlError FailsOnce(string yaml)
    {
        var errors = Fails(yaml);
        Assert.True(errors.Count == 1, "expected exactly one error, got:\n" + string.Join("\n", errors));
        return errors[0];
    }

    static void At(YamlError error, int line, int column, params string[] fragments)
    {
        Assert.True(error.Line == line && error.Column == column, $"expected {line}:{column}, got {error}");
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        }
    }

    // ---- defaults ----

    [Fact]
    public void A_minimal_file_gets_the_documented_defaults()
    {
        var registry = Loads("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics:
                  temperature: { unit: "°C" }
                  fault: { unit: code }
                alerts:
                  - { id: hot, type: threshold, metric: temperature, above: 30, severity: info }
                  - { id: off, type: offline, severity: warning }
                  - { id: broken, type: fault-code, severity: critical }
                  - { id: frozen, type: stuck, metric: temperature, for: 1h, severity: info }
                  - { id: jump, type: rate-of-change, metric: temperature, rate-per-minute: 2, for: 1m, severity: info }
            buildings:
              - id: b
                rooms:
                  - id: r
                    sensors:
                      - { id: s, kind: t }
            """);

        Assert.Equal(new CampusInfo("c", "c", "UTC"), registry.Campus);
        Assert.Equal(UnregisteredPolicy.Accept, registry.Unregistered);
        Assert.Equal(new ComfortBands(20, 24, 1000, 30, 60), registry.Comfort);

        var kind = registry.Kinds["t"];
        Assert.Equal(TimeSpan.FromSeconds(60), kind.Interval);
        Assert.Equal(RollupRole.None, kind.Metrics["temperature"].Rollup);
        Assert.Equal("°C", kind.Metrics["temperature"].Unit);

        var hot = Assert.IsType<ThresholdRule>(kind.Alerts[0]);
        Assert.Equal(AlertRuleType.Threshold, hot.Type);
        Assert.Equal(30, hot.Above);
        Assert.Null(hot.Below);
        Assert.Equal(0, hot.Hysteresis);
        Assert.Equal(TimeSpan.Zero, hot.For);
        Assert.Null(hot.ClearFor); // the same as For
        Assert.Null(hot.Description);

        var off = Assert.IsType<OfflineRule>(kind.Alerts[1]);
        Assert.Equal(1.5, off.Intervals);
        Assert.Null(off.Grace);

        var fault = Assert.IsType<FaultCodeRule>(kind.Alerts[2]);
        Assert.Equal("fault", fault.Metric);
        Assert.Equal(AlertSeverity.Critical, fault.Severity);

        var stuck = Assert.IsType<StuckRule>(kind.Alerts[3]);
        Assert.Equal(0, stuck.Tolerance);
        Assert.Equal(TimeSpan.FromHours(1), stuck.For);

        var jump = Assert.IsType<RateOfChangeRule>(kind.Alerts[4]);
        Assert.Equal(2, jump.RatePerMinute);
        Assert.Equal(TimeSpan.FromMinutes(1), jump.For);
        Assert.Null(jump.ClearFor); // the same as For

        var building = Assert.Single(registry.Buildings);
        Assert.Equal("b", building.Name);
        var room = Assert.Single(building.Rooms);
        Assert.Equal("r", room.Name);
        Assert.Equal("room", room.Type);
        Assert.Equal(0, room.Capacity);
        var sensor = registry.FindSensor("s");
        Assert.NotNull(sensor);
        Assert.Same(kind, sensor.Kind);
        Assert.Same(room, sensor.Room);
    }

    [Fact]
    public void Explicit_values_override_the_defaults()
    {
        var registry = Loads("""
            campus: { id: c, name: The Campus, timezone: Europe/Berlin }
            unregistered: refuse
            comfort:
              temperature: { min: 19, max: 25.5 }
              co2: { max: 1200 }
              humidity: { min: 25, max: 65 }
            kinds:
              t:
                interval: 500ms
                metrics: { temperature: { unit: C, rollup: temperature } }
                alerts:
                  - { id: band, type: threshold, metric: temperature, above: 30, below: 10, hysteresis: 1, for: 5m, clear-for: 30s, severity: warning, description: Out of band }
                  - { id: off, type: offline, intervals: 3, grace: 2d, severity: info }
            buildings: []
            """);

        Assert.Equal(new CampusInfo("c", "The Campus", "Europe/Berlin"), registry.Campus);
        Assert.Equal(UnregisteredPolicy.Refuse, registry.Unregistered);
        Assert.Equal(new ComfortBands(19, 25.5, 1200, 25, 65), registry.Comfort);
        var kind = registry.Kinds["t"];
        Assert.Equal(TimeSpan.FromMilliseconds(500), kind.Interval);
        Assert.Equal(RollupRole.Temperature, kind.Metrics["temperature"].Rollup);
        var band = Assert.IsType<ThresholdRule>(kind.Alerts[0]);
        Assert.Equal((30.0, 10.0, 1.0), (band.Above!.Value, band.Below!.Value, band.Hysteresis));
        Assert.Equal(TimeSpan.FromMinutes(5), band.For);
        Assert.Equal(TimeSpan.FromSeconds(30), band.ClearFor);
        Assert.Equal("Out of band", band.Description);
        var off = Assert.IsType<OfflineRule>(kind.Alerts[1]);
        Assert.Equal(3, off.Intervals);
        Assert.Equal(TimeSpan.FromDays(2), off.Grace);
        Assert.Empty(registry.Buildings);
    }

    // ---- file-level problems ----

    [Fact]
    public void An_empty_file_is_an_error()
    {
        At(FailsOnce(""), 1, 1, "empty");
        At(FailsOnce("# only a comment\n"), 1, 1, "empty");
    }

    [Fact]
    public void A_yaml_syntax_error_is_located()
    {
        var error = FailsOnce("""
            campus: { id: c }
            kinds: {}
            buildings: a: b
            """);
        Assert.Equal(3, error.Line);
        Assert.StartsWith("YAML syntax error: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Idx:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_top_level_list_is_the_wrong_type()
    {
        At(FailsOnce("- campus\n"), 1, 1, "the registry file must be a mapping");
    }

    [Fact]
    public void A_duplicate_mapping_key_names_both_lines()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds: {}
            kinds: {}
            buildings: []
            """), 3, 1, "duplicate key 'kinds'", "first at line 2");
    }

    [Fact]
    public void Every_error_is_collected_in_file_order()
    {
        var errors = Fails("""
            campus: { id: "bad id" }
            unregistered: sometimes
            kinds:
              t:
                interval: 0s
                metrics: { temperature: { unit: C } }
            buildings:
              - { id: b, rooms: [ { id: r, capacity: -1 } ] }
            """);
        Assert.Equal(4, errors.Count);
        At(errors[0], 1, 15, "campus id 'bad id'", "whitespace");
        At(errors[1], 2, 15, "unknown unregistered policy 'sometimes'", "accept, refuse");
        At(errors[2], 5, 15, "kind 't' interval", "greater than zero");
        At(errors[3], 8, 42, "capacity must not be negative");
    }

    [Fact]
    public void Error_text_is_source_line_column_message()
    {
        Assert.Equal("campus.yaml:12:5: boom", new YamlError("campus.yaml", 12, 5, "boom").ToString());
        var error = FailsOnce("campus: { id: c }\nkinds: {}\nbuildings: []\ncolour: blue\n");
        Assert.StartsWith("test.yaml:4:1: unknown key 'colour'", error.ToString(), StringComparison.Ordinal);
    }

    // ---- unknown and missing keys ----

    [Fact]
    public void An_unknown_top_level_key_is_named_with_the_allowed_ones()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds: {}
            buildings: []
            colour: blue
            """), 4, 1, "unknown key 'colour'", "allowed keys: campus, unregistered, comfort, timetables, kinds, buildings");
    }

    [Fact]
    public void An_unknown_campus_key_is_named()
    {
        At(FailsOnce("""
            campus:
              id: c
              zone: UTC
            kinds: {}
            buildings: []
            """), 3, 3, "unknown key 'zone' in campus", "allowed keys: id, name, timezone");
    }

    [Fact]
    public void A_key_that_does_not_apply_to_the_rule_type_is_unknown()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - { id: s, type: stuck, metric: temperature, for: 1h, severity: info, above: 3 }
            buildings: []
            """), 7, 77, "unknown key 'above'", "allowed keys for a stuck rule:", "tolerance");
    }

    [Fact]
    public void Kebab_case_keys_are_required()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - id: hot
                    type: threshold
                    metric: temperature
                    above: 30
                    clearFor: 1m
                    severity: info
            buildings: []
            """), 11, 9, "unknown key 'clearFor'", "clear-for");
    }

    [Fact]
    public void Missing_top_level_keys_are_each_reported()
    {
        var errors = Fails("campus: { id: c }\n");
        Assert.Equal(2, errors.Count);
        At(errors[0], 1, 1, "missing required key 'kinds'");
        At(errors[1], 1, 1, "missing required key 'buildings'");
    }

    [Fact]
    public void A_missing_campus_id_points_at_the_campus_mapping()
    {
        At(FailsOnce("""
            campus:
              name: No id
            kinds: {}
            buildings: []
            """), 2, 3, "campus: missing required key 'id'");
    }

    [Fact]
    public void A_key_without_a_value_is_missing_its_value()
    {
        At(FailsOnce("""
            campus:
            kinds: {}
            buildings: []
            """), 1, 1, "'campus' needs a value");
    }

    [Fact]
    public void Missing_kind_metric_and_sensor_keys_are_reported()
    {
        var errors = Fails("""
            campus: { id: c }
            kinds:
              t:
                metrics: { temperature: { rollup: temperature } }
              u:
                interval: 1m
            buildings:
              - id: b
                rooms:
                  - id: r
                    sensors:
                      - { id: s }
                  - { name: No id }
            """);
        Assert.Equal(5, errors.Count);
        At(errors[0], 4, 5, "kind 't': missing required key 'interval'");
        At(errors[1], 4, 29, "kind 't' metric 'temperature': missing required key 'unit'");
        At(errors[2], 6, 5, "kind 'u': missing required key 'metrics'");
        At(errors[3], 12, 13, "sensor 's': missing required key 'kind'");
        At(errors[4], 13, 9, "room: missing required key 'id'");
    }

    [Fact]
    public void Missing_rule_keys_are_reported()
    {
        var errors = Fails("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - { type: offline, severity: info }
                  - { id: x, severity: info }
                  - { id: y, type: offline }
            buildings: []
            """);
        Assert.Equal(3, errors.Count);
        At(errors[0], 7, 9, "missing required key 'id'");
        At(errors[1], 8, 9, "alert rule 'x': missing required key 'type'");
        At(errors[2], 9, 9, "alert rule 'y': missing required key 'severity'");
    }

    // ---- wrong types and bad values ----

    [Fact]
    public void Wrong_node_types_are_reported_where_they_are()
    {
        var errors = Fails("""
            campus: [c]
            kinds: {}
            buildings: {}
            """);
        Assert.Equal(2, errors.Count);
        At(errors[0], 1, 9, "campus must be a mapping", "not a list");
        At(errors[1], 3, 12, "buildings must be a list", "not a mapping");
    }

    [Fact]
    public void A_list_where_a_number_belongs_is_the_wrong_type()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds: {}
            buildings:
              - id: b
                rooms:
                  - id: r
                    capacity: [1]
            """), 7, 19, "capacity must be a single value", "not a list");
    }

    [Fact]
    public void Metrics_given_as_a_list_are_the_wrong_type()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: [temperature]
            buildings: []
            """), 5, 14, "kind 't' metrics must be a mapping");
    }

    [Fact]
    public void A_kind_may_not_list_a_metric_named_like_a_tag_key()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C }, kind: { unit: x } }
            buildings: []
            """), 5, 42, "metric name 'kind' is reserved");
    }

    [Fact]
    public void A_kind_needs_at_least_one_metric()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: {}
            buildings: []
            """), 5, 14, "kind 't' has no metrics");
    }

    [Theory]
    [InlineData("30", "is not a duration")]
    [InlineData("5x", "is not a duration")]
    [InlineData("ms", "is not a duration")]
    [InlineData("1.5.5s", "is not a duration")]
    [InlineData("1 m", "is not a duration")]
    [InlineData("0s", "greater than zero")]
    [InlineData("-1m", "greater than zero")]
    public void A_bad_interval_is_reported(string interval, string problem)
    {
        At(FailsOnce($$"""
            campus: { id: c }
            kinds:
              t:
                interval: {{interval}}
                metrics: { temperature: { unit: C } }
            buildings: []
            """), 4, 15, $"kind 't' interval", problem);
    }

    [Fact]
    public void Rule_durations_are_checked_by_what_they_mean()
    {
        var errors = Fails("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - id: stuck
                    type: stuck
                    metric: temperature
                    for: 0s
                    severity: info
                  - id: hot
                    type: threshold
                    metric: temperature
                    above: 30
                    for: -5m
                    clear-for: soon
                    severity: info
                  - id: off
                    type: offline
                    grace: 0ms
                    severity: info
            buildings: []
            """);
        Assert.Equal(4, errors.Count);
        At(errors[0], 10, 14, "alert rule 'stuck': for must be greater than zero");
        At(errors[1], 16, 14, "alert rule 'hot': for must be zero or more");
        At(errors[2], 17, 20, "alert rule 'hot' clear-for 'soon' is not a duration", "500ms, 30s, 5m, 2h or 1d");
        At(errors[3], 21, 16, "alert rule 'off': grace must be greater than zero");
    }

    [Fact]
    public void A_threshold_for_of_zero_is_allowed()
    {
        var registry = Loads("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - { id: hot, type: threshold, metric: temperature, above: 30, for: 0s, severity: info }
            buildings: []
            """);
        Assert.Equal(TimeSpan.Zero, Assert.IsType<ThresholdRule>(registry.Kinds["t"].Alerts[0]).For);
    }

    [Fact]
    public void Bad_numbers_are_reported()
    {
        var errors = Fails("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - { id: a, type: threshold, metric: temperature, above: warm, severity: info }
                  - { id: b, type: rate-of-change, metric: temperature, rate-per-minute: 0, severity: info }
                  - { id: c, type: stuck, metric: temperature, for: 1h, tolerance: -0.1, severity: info }
            buildings:
              - id: b
                rooms:
                  - { id: r, capacity: 12.5 }
            """);
        Assert.Equal(4, errors.Count);
        At(errors[0], 7, 63, "alert rule 'a' above must be a number, not 'warm'");
        At(errors[1], 8, 78, "rate-per-minute must be greater than 0");
        At(errors[2], 9, 72, "tolerance must not be negative");
        At(errors[3], 13, 28, "capacity must be a whole number, not '12.5'");
    }

    [Fact]
    public void Negative_capacity_is_refused()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds: {}
            buildings:
              - id: b
                rooms:
                  - id: r
                    capacity: -5
            """), 7, 19, "room 'r' capacity must not be negative, not -5");
    }

    [Fact]
    public void Negative_hysteresis_is_refused()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - id: a
                    type: threshold
                    metric: temperature
                    above: 30
                    hysteresis: -1
                    severity: info
            buildings: []
            """), 11, 21, "alert rule 'a': hysteresis must not be negative");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    public void Offline_intervals_must_be_positive(string intervals)
    {
        At(FailsOnce($$"""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - { id: off, type: offline, intervals: {{intervals}}, severity: info }
            buildings: []
            """), 7, 46, "alert rule 'off': intervals must be greater than 0");
    }

    // ---- ids ----

    [Theory]
    [InlineData("a/b", "'/'")]
    [InlineData("a+b", "'+'")]
    [InlineData("a#b", "'#'")]
    [InlineData("a\\b", "'\\'")]
    [InlineData("a b", "whitespace")]
    [InlineData("a\tb", "whitespace")]
    [InlineData("", "empty")]
    [InlineData("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "65 characters")]
    public void A_bad_sensor_id_is_refused(string id, string problem)
    {
        // Double-quoted so that tabs and backslashes reach the loader as written here.
        var quoted = id.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);
        At(FailsOnce($$"""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
            buildings:
              - id: b
                rooms:
                  - id: r
                    sensors:
                      - { id: "{{quoted}}", kind: t }
            """), 11, 19, "sensor id", "is not a valid id", problem);
    }

    [Fact]
    public void Ids_up_to_64_printable_characters_are_fine()
    {
        var id = new string('x', 63) + "é";
        var registry = Loads($$"""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
            buildings:
              - id: b
                rooms:
                  - id: r
                    sensors:
                      - { id: {{id}}, kind: t }
            """);
        Assert.NotNull(registry.FindSensor(id));
        Assert.True(CampusRegistryLoader.IsValidId(id));
        Assert.False(CampusRegistryLoader.IsValidId(id + "x"));
    }

    [Fact]
    public void Kind_and_rule_ids_are_checked_too()
    {
        var errors = Fails("""
            campus: { id: c }
            kinds:
              "my kind":
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - { id: a+b, type: offline, severity: info }
            buildings: []
            """);
        Assert.Equal(2, errors.Count);
        At(errors[0], 3, 3, "kind id 'my kind' is not a valid id");
        At(errors[1], 7, 15, "alert rule 'a+b': id 'a+b' is not a valid id");
    }

    // ---- duplicates ----

    [Fact]
    public void A_duplicate_sensor_id_names_both_lines_even_across_buildings()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
            buildings:
              - id: b1
                rooms:
                  - id: r
                    sensors:
                      - { id: s1, kind: t }
              - id: b2
                rooms:
                  - id: r
                    sensors:
                      - { id: s2, kind: t }
                      - { id: s1, kind: t }
            """), 17, 19, "duplicate sensor id 's1'", "first at line 11, again at line 17");
    }

    [Fact]
    public void A_duplicate_building_id_is_refused()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds: {}
            buildings:
              - id: b1
              - id: b2
              - id: b1
            """), 6, 9, "duplicate building id 'b1'", "first at line 4, again at line 6");
    }

    [Fact]
    public void A_duplicate_room_id_within_a_building_is_refused_but_not_across_buildings()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds: {}
            buildings:
              - id: b1
                rooms:
                  - id: r1
                  - id: r2
                  - id: r1
              - id: b2
                rooms:
                  - id: r1
            """), 8, 13, "duplicate room id 'r1' in building 'b1'", "first at line 6, again at line 8");
    }

    [Fact]
    public void A_duplicate_rule_id_within_a_kind_is_refused_but_not_across_kinds()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - { id: offline, type: offline, severity: warning }
                  - { id: offline, type: offline, severity: critical }
              u:
                interval: 60s
                metrics: { humidity: { unit: "%" } }
                alerts:
                  - { id: offline, type: offline, severity: warning }
            buildings: []
            """), 8, 15, "kind 't' alert rule 'offline': the id is already used by another rule of the kind", "first at line 7, again at line 8");
    }

    // ---- unknown names ----

    [Fact]
    public void A_sensor_of_an_unknown_kind_is_refused()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
            buildings:
              - id: b
                rooms:
                  - id: r
                    sensors:
                      - { id: s, kind: thermometer }
            """), 11, 28, "sensor 's': unknown kind 'thermometer'", "defined kinds: t");
    }

    [Fact]
    public void An_unknown_rollup_role_is_refused()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C, rollup: air } }
            buildings: []
            """), 5, 48, "unknown rollup role 'air'", "none, people, temperature, humidity, co2, power, energy");
    }

    [Fact]
    public void Unknown_rule_type_and_severity_are_refused()
    {
        var errors = Fails("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - { id: x, type: limit, severity: urgent }
            buildings: []
            """);
        Assert.Equal(2, errors.Count);
        At(errors[0], 7, 24, "unknown alert rule type 'limit'", "threshold, rate-of-change, stuck, offline, fault-code");
        At(errors[1], 7, 41, "unknown severity 'urgent'", "info, warning, critical");
    }

    [Fact]
    public void An_unknown_unregistered_policy_is_refused()
    {
        At(FailsOnce("""
            campus: { id: c }
            unregistered: maybe
            kinds: {}
            buildings: []
            """), 2, 15, "unknown unregistered policy 'maybe'", "accept, refuse");
    }

    [Fact]
    public void An_unknown_time_zone_is_refused()
    {
        At(FailsOnce("""
            campus:
              id: c
              timezone: Mars/Olympus
            kinds: {}
            buildings: []
            """), 3, 13, "unknown time zone 'Mars/Olympus'");
    }

    // ---- what each rule type needs ----

    [Fact]
    public void Each_rule_type_needs_its_own_keys()
    {
        var errors = Fails("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - { id: a, type: threshold, severity: info, above: 3 }
                  - { id: b, type: threshold, metric: temperature, severity: info }
                  - { id: c, type: rate-of-change, metric: temperature, severity: info }
                  - { id: d, type: stuck, metric: temperature, severity: info }
                  - { id: e, type: fault-code, severity: info }
                  - { id: f, type: offline, severity: info }
            buildings: []
            """);
        Assert.Equal(5, errors.Count);
        At(errors[0], 7, 9, "alert rule 'a': missing required key 'metric'");
        At(errors[1], 8, 9, "alert rule 'b': a threshold rule needs 'above' and/or 'below'");
        At(errors[2], 9, 9, "alert rule 'c': missing required key 'rate-per-minute'");
        At(errors[3], 10, 9, "alert rule 'd': missing required key 'for'");
        At(errors[4], 11, 9, "kind 't' alert rule 'e': 'fault' is not a metric of the kind", "uses metric 'fault' unless it names one");
    }

    [Fact]
    public void A_rule_metric_must_be_a_metric_of_the_kind()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C }, battery: { unit: "%" } }
                alerts:
                  - { id: a, type: threshold, metric: humidity, above: 3, severity: info }
            buildings: []
            """), 7, 43, "kind 't' alert rule 'a': 'humidity' is not a metric of the kind", "its metrics are: temperature, battery");
    }

    [Fact]
    public void A_threshold_band_must_not_be_inverted()
    {
        At(FailsOnce("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - { id: a, type: threshold, metric: temperature, above: 10, below: 20, severity: info }
            buildings: []
            """), 7, 74, "below (20) must be less than above (10)");
    }

    // ---- comfort ----

    [Fact]
    public void Comfort_min_above_max_is_refused()
    {
        At(FailsOnce("""
            campus: { id: c }
            comfort:
              temperature: { min: 25, max: 21 }
            kinds: {}
            buildings: []
            """), 3, 23, "comfort temperature: min (25) is greater than max (21)");
    }

    [Fact]
    public void Comfort_values_out_of_range_and_unknown_keys_are_refused()
    {
        var errors = Fails("""
            campus: { id: c }
            comfort:
              humidity: { min: -5, max: 60 }
              co2: { min: 400, max: 0 }
            kinds: {}
            buildings: []
            """);
        Assert.Equal(3, errors.Count);
        At(errors[0], 3, 20, "comfort humidity min must be between 0 and 100");
        At(errors[1], 4, 10, "unknown key 'min' in comfort co2", "allowed keys: max");
        At(errors[2], 4, 25, "comfort co2 max must be greater than 0");
    }

    [Fact]
    public void Comfort_keeps_defaults_for_what_it_does_not_say()
    {
        var registry = Loads("""
            campus: { id: c }
            comfort:
              temperature: { max: 26 }
            kinds: {}
            buildings: []
            """);
        Assert.Equal(ComfortBands.Default with { TemperatureMaxC = 26 }, registry.Comfort);
    }

    // ---- aliases ----

    [Fact]
    public void Anchors_and_aliases_share_definitions()
    {
        var registry = Loads("""
            campus: { id: c }
            kinds:
              t:
                interval: 60s
                metrics: { temperature: { unit: C } }
                alerts:
                  - &off { id: offline, type: offline, severity: warning }
              u:
                interval: 60s
                metrics: { humidity: { unit: "%" } }
                alerts: [ *off ]
            buildings: []
            """);
        Assert.Equal(AlertRuleType.Offline, Assert.Single(registry.Kinds["u"].Alerts).Type);
    }
}
