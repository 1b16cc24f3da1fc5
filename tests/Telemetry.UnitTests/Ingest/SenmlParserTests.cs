using System.Text;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Ingest;

namespace Telemetry.UnitTests.Ingest;

public class SenmlParserTests
{
    const string Sensor = "bldg-1-r101-temp";
    static readonly DateTimeOffset Now = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    static readonly long NowMs = Now.ToUnixTimeMilliseconds();
    static readonly double NowS = NowMs / 1000.0;
    static readonly IngestLimits Limits = new();

    static readonly Dictionary<string, MetricSpec> Specs = new(StringComparer.Ordinal)
    {
        ["temperature"] = new("°C", RollupRole.Temperature),
        ["humidity"] = new("%", RollupRole.Humidity),
        ["battery"] = new("%", RollupRole.None),
        ["rssi"] = new("dBm", RollupRole.None),
        ["co2"] = new("ppm", RollupRole.Co2),
        ["people"] = new("count", RollupRole.People),
        ["power"] = new("kW", RollupRole.Power),
        ["energy"] = new("kWh", RollupRole.Energy),
        ["airflow"] = new("m/s", RollupRole.None),
        ["compressor"] = new("state", RollupRole.None),
        ["fault"] = new("code", RollupRole.None),
    };

    static IReadOnlyList<Reading> Accept(string json, IngestLimits? limits = null, IReadOnlyDictionary<string, MetricSpec>? specs = null, string sensor = Sensor)
    {
        var ok = SenmlParser.TryParse(Encoding.UTF8.GetBytes(json), sensor, NowMs, limits ?? Limits, specs, out var readings, out var refusal);
        Assert.True(ok, $"expected acceptance, got {refusal}");
        return readings;
    }

    static Refusal Refuse(string json, IngestLimits? limits = null, IReadOnlyDictionary<string, MetricSpec>? specs = null) =>
        Refuse(Encoding.UTF8.GetBytes(json), limits, specs);

    static Refusal Refuse(byte[] payload, IngestLimits? limits = null, IReadOnlyDictionary<string, MetricSpec>? specs = null)
    {
        var ok = SenmlParser.TryParse(payload, Sensor, NowMs, limits ?? Limits, specs, out var readings, out var refusal);
        Assert.False(ok, "expected a refusal");
        Assert.Empty(readings);
        Assert.False(string.IsNullOrWhiteSpace(refusal.Detail));
        return refusal;
    }

    static Metric Single(string json, IReadOnlyDictionary<string, MetricSpec>? specs = null) =>
        Assert.Single(Assert.Single(Accept(json, specs: specs)).Metrics);

    [Fact]
    public void The_RFC_8428_multiple_datapoints_example_shape_is_read()
    {
        var bt = (long)NowS - 60;
        var readings = Accept($$"""
            [{"bn":"urn:dev:ow:10e2073a01080063:","bt":{{bt}},"bu":"A","bver":5,"n":"voltage","u":"V","v":120.1},
             {"n":"current","t":-5,"v":1.2},
             {"n":"current","t":-4,"v":1.3}]
            """);
        Assert.Equal(3, readings.Count);
        Assert.Equal([(bt - 5) * 1000, (bt - 4) * 1000, bt * 1000], readings.Select(r => r.TimestampMs));
        Assert.Equal(new Metric("voltage", 120.1), Assert.Single(readings[2].Metrics));
        Assert.Equal(new Metric("current", 1.2), Assert.Single(readings[0].Metrics));
    }

    [Fact]
    public void The_example_of_the_contract_gives_what_the_contract_says()
    {
        var specs = new Dictionary<string, MetricSpec>(StringComparer.Ordinal)
        {
            ["temperature"] = new("°C", RollupRole.None),
            ["compressor"] = new("state", RollupRole.None),
        };
        var readings = Accept("""
            [{"bn":"bldg-1-lab1-freezer1:","bt":1795859940,"bu":"Cel","n":"temperature","v":-21.4},
             {"n":"compressor","u":"/","vb":true},
             {"n":"temperature","t":30,"v":-21.2},
             {"n":"compressor","t":30,"u":"/","vb":false}]
            """, specs: specs, sensor: "bldg-1-lab1-freezer1");
        Assert.Equal([NowMs - 60_000, NowMs - 30_000], readings.Select(r => r.TimestampMs));
        Assert.Equal([new Metric("temperature", -21.4), new Metric("compressor", 1)], readings[0].Metrics);
        Assert.Equal([new Metric("temperature", -21.2), new Metric("compressor", 0)], readings[1].Metrics);
    }

    [Fact]
    public void Records_with_the_same_resolved_time_merge_into_one_reading_in_record_order()
    {
        var reading = Assert.Single(Accept($$"""
            [{"bn":"{{Sensor}}:","bt":{{NowS - 30}},"n":"temperature","u":"Cel","v":21.5},
             {"n":"humidity","u":"%RH","v":40},
             {"n":"battery","u":"%EL","v":97}]
            """, specs: Specs));
        Assert.Equal(NowMs - 30_000, reading.TimestampMs);
        Assert.Equal([new Metric("temperature", 21.5), new Metric("humidity", 40), new Metric("battery", 97)], reading.Metrics);
    }

    [Fact]
    public void Readings_are_sorted_by_time_whatever_the_record_order()
    {
        var readings = Accept($$"""[{"n":"a","t":{{NowS - 1}},"v":3},{"n":"a","t":{{NowS - 3}},"v":1},{"n":"a","t":{{NowS - 2}},"v":2}]""");
        Assert.Equal([1.0, 2, 3], readings.Select(r => r.Metrics[0].Value));
        Assert.True(readings.Zip(readings.Skip(1)).All(p => p.First.TimestampMs < p.Second.TimestampMs));
    }

    [Theory]
    [InlineData("bldg-1-r101-temp:temperature")]
    [InlineData("bldg-1-r101-temp/temperature")]
    [InlineData("bldg-1-r101-temp-temperature")]
    [InlineData("bldg-1-r101-temp.temperature")]
    [InlineData("bldg-1-r101-temp_temperature")]
    [InlineData("urn:dev:mac:0024befffe804ff1/temperature")]
    [InlineData("urn:dev:mac:0024befffe804ff1:temperature")]
    [InlineData("temperature")]
    public void The_metric_name_is_taken_from_the_resolved_name(string name)
    {
        Assert.Equal("temperature", SenmlParser.MetricName(name, Sensor));
        Assert.Equal("temperature", Single($$"""[{"n":"{{name}}","v":1}]""").Name);
    }

    [Fact]
    public void After_the_sensor_id_the_rest_is_kept_whole_even_with_separators()
    {
        Assert.Equal("hvac/supply", SenmlParser.MetricName($"{Sensor}/hvac/supply", Sensor));
        Assert.Equal("supply", SenmlParser.MetricName("urn:dev:x/hvac/supply", Sensor));
    }

    [Fact]
    public void Base_name_is_joined_with_n_and_applies_until_changed()
    {
        var metrics = Assert.Single(Accept($$"""
            [{"bn":"{{Sensor}}/","n":"a","v":1},{"n":"b","v":2},{"bn":"urn:dev:other:","n":"c","v":3},{"n":"d","v":4}]
            """)).Metrics;
        Assert.Equal(["a", "b", "c", "d"], metrics.Select(m => m.Name));
    }

    [Fact]
    public void A_record_of_base_fields_only_sets_the_bases_for_the_next_records()
    {
        var reading = Assert.Single(Accept($$"""[{"bn":"{{Sensor}}:","bt":{{NowS - 10}},"bu":"Cel","bv":20},{"n":"temperature","v":1.5}]""", specs: Specs));
        Assert.Equal(NowMs - 10_000, reading.TimestampMs);
        Assert.Equal(new Metric("temperature", 21.5), Assert.Single(reading.Metrics));
    }

    [Fact]
    public void Time_without_bt_or_t_or_zero_is_the_receive_time()
    {
        Assert.Equal(NowMs, Assert.Single(Accept("""[{"n":"a","v":1}]""")).TimestampMs);
        Assert.Equal(NowMs, Assert.Single(Accept("""[{"n":"a","t":0,"v":1}]""")).TimestampMs);
    }

    [Fact]
    public void Times_below_2_pow_28_are_relative_to_the_receive_time_with_fractions()
    {
        var readings = Accept("""[{"n":"a","t":-90.25,"v":1},{"n":"a","t":1.5,"v":2}]""");
        Assert.Equal([NowMs - 90_250, NowMs + 1_500], readings.Select(r => r.TimestampMs));
    }

    [Fact]
    public void Relative_bt_plus_t_is_relative_too()
    {
        Assert.Equal(NowMs - 70_000, Assert.Single(Accept("""[{"bt":-60,"n":"a","t":-10,"v":1}]""")).TimestampMs);
    }

    [Fact]
    public void Absolute_times_keep_millisecond_fractions()
    {
        var t = (NowMs - 5_123) / 1000.0;
        Assert.Equal(NowMs - 5_123, Assert.Single(Accept($$"""[{"n":"a","t":{{t.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}},"v":1}]""")).TimestampMs);
    }

    [Fact]
    public void Times_go_through_the_same_window_as_the_JSON_contract()
    {
        var yearsAgo = Now.AddYears(-3).ToUnixTimeSeconds();
        Assert.Equal(RefusalReason.TimestampOutOfRange, Refuse($$"""[{"n":"a","t":{{yearsAgo}},"v":1}]""").Reason);
        Assert.Equal(RefusalReason.TimestampOutOfRange, Refuse("""[{"n":"a","t":3600,"v":1}]""").Reason); // an hour ahead
        Assert.Equal(RefusalReason.TimestampOutOfRange, Refuse($$"""[{"n":"a","t":{{NowMs}},"v":1}]""").Reason); // ms, not s
        var refusal = Refuse("""[{"n":"a","v":1},{"n":"a","t":1e300,"v":1}]""");
        Assert.Equal(RefusalReason.TimestampOutOfRange, refusal.Reason);
        Assert.StartsWith("record 1:", refusal.Detail, StringComparison.Ordinal);
        Assert.Single(Accept("""[{"n":"a","t":300,"v":1}]""")); // exactly MaxFutureSkew ahead
    }

    [Theory]
    [InlineData("""[{"n":"a","t":"2026-11-28T10:00:00Z","v":1}]""")]
    [InlineData("""[{"bt":true,"n":"a","v":1}]""")]
    [InlineData("""[{"n":"a","t":null,"v":1}]""")]
    public void Non_numeric_times_are_refused(string json)
    {
        Assert.Equal(RefusalReason.InvalidTimestamp, Refuse(json).Reason);
    }

    [Fact]
    public void Vb_is_one_or_zero()
    {
        var metrics = Assert.Single(Accept("""[{"n":"on","vb":true},{"n":"off","vb":false}]""")).Metrics;
        Assert.Equal([new Metric("on", 1), new Metric("off", 0)], metrics);
    }

    [Fact]
    public void Bv_is_added_to_v()
    {
        Assert.Equal(1200.25, Single("""[{"bv":1200,"n":"energy","v":0.25}]""").Value);
    }

    [Fact]
    public void A_sum_is_the_value_when_v_is_absent_and_bs_is_added_to_it()
    {
        Assert.Equal(42, Single("""[{"n":"count","s":42}]""").Value);
        Assert.Equal(142, Single("""[{"bs":100,"n":"count","s":42}]""").Value);
        Assert.Equal(7, Single("""[{"n":"count","v":7,"s":42}]""").Value);
    }

    [Theory]
    [InlineData("""[{"n":"a","vs":"hello"}]""", "string")]
    [InlineData("""[{"n":"a","vd":"aGVsbG8"}]""", "data")]
    [InlineData("""[{"n":"a","v":"21.5"}]""", "")]
    [InlineData("""[{"n":"a","v":null}]""", "")]
    [InlineData("""[{"n":"a","vb":1}]""", "")]
    public void String_data_and_non_numeric_values_are_refused(string json, string kind)
    {
        var refusal = Refuse(json);
        Assert.Equal(RefusalReason.NonNumericMetric, refusal.Reason);
        Assert.Contains(kind, refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_beyond_double_is_refused_as_non_finite()
    {
        Assert.Equal(RefusalReason.NonFiniteMetric, Refuse("""[{"n":"a","v":1e400}]""").Reason);
        Assert.Equal(RefusalReason.NonFiniteMetric, Refuse("""[{"bv":1.7e308,"n":"a","v":1.7e308}]""").Reason);
    }

    [Fact]
    public void Unknown_fields_are_ignored_but_must_understand_fields_are_refused()
    {
        Assert.Equal(1, Single("""[{"n":"a","v":1,"ut":60,"foo":{"x":[1,2]},"l":"kitchen"}]""").Value);
        var refusal = Refuse("""[{"n":"a","v":1,"rq_":true}]""");
        Assert.Equal(RefusalReason.NotAReading, refusal.Reason);
        Assert.Contains("'rq_'", refusal.Detail, StringComparison.Ordinal);
        Assert.Contains("must be understood", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_single_object_is_refused_saying_a_pack_is_an_array()
    {
        var refusal = Refuse("""{"n":"temperature","v":21.5}""");
        Assert.Equal(RefusalReason.NotAReading, refusal.Reason);
        Assert.Contains("array", refusal.Detail, StringComparison.Ordinal);
        Assert.Contains("single", refusal.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("21.5")]
    [InlineData("\"x\"")]
    [InlineData("[1]")]
    [InlineData("[{\"n\":\"a\",\"v\":1},[]]")]
    [InlineData("[{\"n\":5,\"v\":1}]")]
    [InlineData("[{\"bu\":false,\"n\":\"a\",\"v\":1}]")]
    [InlineData("[{\"n\":\"a\",\"v\":1,\"v\":2}]")]
    [InlineData("[{\"n\":\"a\",\"v\":1,\"vb\":true}]")]
    [InlineData("[{\"bver\":11,\"n\":\"a\",\"v\":1}]")]
    [InlineData("[{\"bver\":\"10\",\"n\":\"a\",\"v\":1}]")]
    public void Packs_that_are_not_SenML_records_are_refused(string json)
    {
        Assert.Equal(RefusalReason.NotAReading, Refuse(json).Reason);
    }

    [Fact]
    public void Bver_up_to_10_is_accepted()
    {
        Assert.Single(Accept("""[{"bver":10,"n":"a","v":1}]"""));
    }

    [Theory]
    [InlineData("[")]
    [InlineData("[{\"n\":\"a\",\"v\":1}")]
    [InlineData("[{\"n\":\"a\",\"v\":1},]")]
    [InlineData("[{\"n\":\"a\",\"v\":NaN}]")]
    [InlineData("[{\"n\":\"a\",\"v\":1}] x")]
    public void Malformed_JSON_is_refused(string json)
    {
        Assert.Equal(RefusalReason.MalformedJson, Refuse(json).Reason);
    }

    [Fact]
    public void Empty_payloads_packs_and_value_less_records_are_refused()
    {
        Assert.Equal(RefusalReason.EmptyPayload, Refuse([]).Reason);
        Assert.Equal(RefusalReason.NoMetrics, Refuse("[]").Reason);
        Assert.Equal(RefusalReason.NoMetrics, Refuse("""[{"bn":"x:"}]""").Reason);
        var refusal = Refuse("""[{"n":"a","v":1},{"n":"b","u":"Cel"}]""");
        Assert.Equal(RefusalReason.NoMetrics, refusal.Reason);
        Assert.StartsWith("record 1:", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_payload_over_the_size_limit_is_refused_before_parsing()
    {
        var refusal = Refuse("[{\"n\":\"a\",\"v\":" + new string('1', 80) + "}]", new IngestLimits { MaxPayloadBytes = 64 });
        Assert.Equal(RefusalReason.PayloadTooLarge, refusal.Reason);
    }

    [Theory]
    [InlineData("""[{"v":1}]""")]
    [InlineData("""[{"n":"_x","v":1}]""")]
    [InlineData("""[{"bn":"urn:dev:x/","v":1}]""")]
    [InlineData("""[{"n":"bldg-1-r101-temp:","v":1}]""")]
    [InlineData("""[{"n":"a\\b","v":1}]""")]
    [InlineData("""[{"n":"a\u0001b","v":1}]""")]
    public void Unusable_metric_names_are_refused_like_in_the_JSON_contract(string json)
    {
        Assert.Equal(RefusalReason.InvalidMetricName, Refuse(json).Reason);
    }

    [Theory]
    [InlineData("""[{"n":"time","v":1}]""")]
    [InlineData("""[{"n":"unregistered","v":1}]""")]
    [InlineData("""[{"bn":"urn:dev:x/","n":"sensor","v":1}]""")]
    [InlineData("""[{"n":"bldg-1-r101-temp:building","v":1}]""")]
    public void Metric_names_equal_to_a_tag_key_are_refused_as_reserved_like_in_the_JSON_contract(string json)
    {
        Assert.Equal(RefusalReason.MetricNameReserved, Refuse(json).Reason);
    }

    [Fact]
    public void A_metric_repeated_at_the_same_time_is_refused_but_at_another_time_is_fine()
    {
        var refusal = Refuse("""[{"n":"a","v":1},{"n":"a","v":2}]""");
        Assert.Equal(RefusalReason.InvalidMetricName, refusal.Reason);
        Assert.Contains("given twice", refusal.Detail, StringComparison.Ordinal);
        Assert.Equal(2, Accept("""[{"n":"a","t":-1,"v":1},{"n":"a","v":2}]""").Count);
    }

    [Fact]
    public void Too_many_readings_or_metrics_are_refused()
    {
        var limits = new IngestLimits { MaxReadingsPerMessage = 2, MaxMetricsPerReading = 2 };
        Assert.Equal(RefusalReason.TooManyValues, Refuse("""[{"n":"a","t":-1,"v":1},{"n":"a","t":-2,"v":1},{"n":"a","t":-3,"v":1}]""", limits).Reason);
        Assert.Equal(RefusalReason.TooManyValues, Refuse("""[{"n":"a","v":1},{"n":"b","v":1},{"n":"c","v":1}]""", limits).Reason);
        Assert.Equal(2, Accept("""[{"n":"a","t":-1,"v":1},{"n":"b","t":-1,"v":1},{"n":"a","t":-2,"v":1}]""", limits).Count);
    }

    [Theory]
    [InlineData("temperature", "Cel", 21.5, 21.5)]
    [InlineData("temperature", "K", 294.65, 21.5)]
    [InlineData("humidity", "%RH", 41, 41)]
    [InlineData("humidity", "/100", 41, 41)]
    [InlineData("humidity", "/", 0.41, 41)]
    [InlineData("humidity", "%", 0.41, 41)] // RFC 8428: "%" is the ratio 0..1, not a percentage
    [InlineData("humidity", "/1000", 410, 41)]
    [InlineData("co2", "/", 0.000612, 612)]
    [InlineData("co2", "/100", 0.0612, 612)]
    [InlineData("battery", "%EL", 88, 88)]
    [InlineData("co2", "ppm", 612, 612)]
    [InlineData("rssi", "dBm", -71, -71)]
    [InlineData("rssi", "dBW", -101, -71)]
    [InlineData("people", "count", 12, 12)]
    [InlineData("power", "W", 3500, 3.5)]
    [InlineData("power", "kW", 3.5, 3.5)]
    [InlineData("energy", "Wh", 1200250, 1200.25)]
    [InlineData("energy", "kWh", 1200.25, 1200.25)]
    [InlineData("energy", "J", 7_200_000, 2)]
    [InlineData("airflow", "m/s", 0.45, 0.45)]
    [InlineData("airflow", "km/h", 1.8, 0.5)]
    [InlineData("compressor", "/", 1, 1)]
    [InlineData("fault", "code", 17, 17)]
    public void Units_are_converted_to_the_registry_unit(string metric, string unit, double value, double stored)
    {
        var m = Single($$"""[{"n":"{{metric}}","u":"{{unit}}","v":{{value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}}}]""", Specs);
        Assert.Equal(metric, m.Name);
        Assert.Equal(stored, m.Value, 9);
    }

    [Fact]
    public void Without_a_unit_the_value_is_taken_as_in_the_registry_unit()
    {
        Assert.Equal(17, Single("""[{"n":"fault","v":17}]""", Specs).Value);
        Assert.Equal(21.5, Single("""[{"n":"temperature","v":21.5}]""", Specs).Value);
    }

    [Fact]
    public void The_record_unit_overrides_the_base_unit()
    {
        var metrics = Assert.Single(Accept("""[{"bu":"W","n":"power","v":2000},{"n":"energy","u":"kWh","v":5}]""", specs: Specs)).Metrics;
        Assert.Equal([new Metric("power", 2), new Metric("energy", 5)], metrics);
    }

    [Theory]
    [InlineData("temperature", "Pa", "cannot be converted")]
    [InlineData("temperature", "degC", "not a SenML unit")]
    [InlineData("temperature", "°F", "not a SenML unit")]
    [InlineData("power", "kWh", "cannot be converted")]
    [InlineData("energy", "W", "cannot be converted")]
    [InlineData("humidity", "Cel", "cannot be converted")]
    [InlineData("people", "/", "cannot be converted")]
    [InlineData("fault", "count", "cannot be converted")]
    [InlineData("co2", "%RH", "cannot be converted")]
    public void Incompatible_or_unknown_units_are_refused_as_unit_mismatch(string metric, string unit, string says)
    {
        var refusal = Refuse($$"""[{"n":"ok","v":1},{"n":"{{metric}}","u":"{{unit}}","v":1}]""", specs: Specs);
        Assert.Equal(RefusalReason.UnitMismatch, refusal.Reason);
        Assert.Equal("unit_mismatch", refusal.Code);
        Assert.StartsWith("record 1:", refusal.Detail, StringComparison.Ordinal);
        Assert.Contains(says, refusal.Detail, StringComparison.Ordinal);
        Assert.Contains($"'{metric}'", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Metrics_without_a_spec_keep_their_value_whatever_the_unit()
    {
        Assert.Equal(1013, Single("""[{"n":"pressure","u":"hPa","v":1013}]""", Specs).Value);
        Assert.Equal(3500, Single("""[{"n":"power","u":"W","v":3500}]""").Value); // no specs at all
    }

    [Fact]
    public void Invalid_UTF8_is_refused_as_malformed()
    {
        byte[] payload = [.. "[{\"n\":\"a"u8, 0xC3, 0x28, .. "\",\"v\":1}]"u8];
        Assert.Equal(RefusalReason.MalformedJson, Refuse(payload).Reason);
    }

    [Fact]
    public void Deeply_nested_unknown_fields_are_refused_without_blowing_the_stack()
    {
        var json = "[{\"n\":\"a\",\"v\":1,\"x\":" + new string('[', 10_000) + new string(']', 10_000) + "}]";
        Assert.Equal(RefusalReason.MalformedJson, Refuse(json).Reason);
    }
}
