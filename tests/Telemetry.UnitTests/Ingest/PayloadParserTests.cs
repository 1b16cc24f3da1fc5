using System.Text;
using Telemetry.Contracts;
using Telemetry.Domain.Ingest;

namespace Telemetry.UnitTests.Ingest;

public class PayloadParserTests
{
    static readonly DateTimeOffset Now = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    static readonly long NowMs = Now.ToUnixTimeMilliseconds();
    static readonly IngestLimits Limits = new();

    static IReadOnlyList<Reading> Accept(string json, IngestLimits? limits = null)
    {
        var ok = PayloadParser.TryParse(Encoding.UTF8.GetBytes(json), NowMs, limits ?? Limits, out var readings, out var refusal);
        Assert.True(ok, $"expected acceptance, got {refusal}");
        return readings;
    }

    static Refusal Refuse(string json, IngestLimits? limits = null) => Refuse(Encoding.UTF8.GetBytes(json), limits);

    static Refusal Refuse(byte[] payload, IngestLimits? limits = null)
    {
        var ok = PayloadParser.TryParse(payload, NowMs, limits ?? Limits, out var readings, out var refusal);
        Assert.False(ok, "expected a refusal");
        Assert.Empty(readings);
        Assert.False(string.IsNullOrWhiteSpace(refusal.Detail));
        return refusal;
    }

    [Fact]
    public void A_single_reading_with_epoch_milliseconds()
    {
        var readings = Accept("""{"ts":1795860000123,"temperature":21.5,"humidity":40}""");
        var reading = Assert.Single(readings);
        Assert.Equal(1795860000123, reading.TimestampMs);
        Assert.Equal([new Metric("temperature", 21.5), new Metric("humidity", 40)], reading.Metrics);
    }

    [Theory]
    [InlineData("2026-11-28T09:59:00Z", 0)]
    [InlineData("2026-11-28T09:59:00.250Z", 250)]
    [InlineData("2026-11-28T10:59:00+01:00", 0)]
    [InlineData("2026-11-28t09:59:00.5z", 500)]
    [InlineData("2026-11-28 09:59:00Z", 0)]
    [InlineData("2026-11-28T09:59:00.123456789Z", 123)]
    public void A_single_reading_with_an_RFC_3339_timestamp(string ts, int extraMs)
    {
        var reading = Assert.Single(Accept($$"""{"ts":"{{ts}}","co2":612}"""));
        Assert.Equal(Now.AddMinutes(-1).AddMilliseconds(extraMs).ToUnixTimeMilliseconds(), reading.TimestampMs);
    }

    [Fact]
    public void A_reading_without_ts_gets_the_receive_time()
    {
        var reading = Assert.Single(Accept("""{"people":12}"""));
        Assert.Equal(NowMs, reading.TimestampMs);
    }

    [Fact]
    public void A_batch_keeps_every_reading_and_its_order()
    {
        var readings = Accept("""[{"ts":1795859990000,"power":3.5},{"ts":1795859995000,"power":3.7,"energy":120.25}]""");
        Assert.Equal(2, readings.Count);
        Assert.Equal(1795859990000, readings[0].TimestampMs);
        Assert.Equal([new Metric("power", 3.7), new Metric("energy", 120.25)], readings[1].Metrics);
    }

    [Fact]
    public void A_batch_of_one_may_omit_ts()
    {
        Assert.Equal(NowMs, Assert.Single(Accept("""[{"power":1}]""")).TimestampMs);
    }

    [Fact]
    public void Numbers_in_every_JSON_form_are_accepted()
    {
        var metrics = Assert.Single(Accept("""{"a":-0.5,"b":1e3,"c":12,"d":-7E-2,"e":0}""")).Metrics;
        Assert.Equal([-0.5, 1000, 12, -0.07, 0], metrics.Select(m => m.Value));
    }

    [Fact]
    public void Whitespace_around_the_document_is_fine()
    {
        Assert.Single(Accept(" \n {\"a\":1} \r\n"));
    }

    [Fact]
    public void An_empty_payload_is_refused()
    {
        Assert.Equal(RefusalReason.EmptyPayload, Refuse([]).Reason);
    }

    [Fact]
    public void A_payload_over_the_size_limit_is_refused_before_parsing()
    {
        var limits = new IngestLimits { MaxPayloadBytes = 64 };
        var refusal = Refuse("{\"a\":" + new string('1', 80) + "}", limits);
        Assert.Equal(RefusalReason.PayloadTooLarge, refusal.Reason);
        Assert.Contains("64", refusal.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{\"a\":1")]
    [InlineData("{\"a\":1,}")]
    [InlineData("{'a':1}")]
    [InlineData("{\"a\":NaN}")]
    [InlineData("{\"a\":Infinity}")]
    [InlineData("{\"a\":-Infinity}")]
    [InlineData("{\"a\":1} {\"b\":2}")]
    [InlineData("{\"a\":1}x")]
    [InlineData("{\"a\":01}")]
    [InlineData("{/*c*/\"a\":1}")]
    [InlineData("temperature=21.5")]
    public void Malformed_JSON_is_refused(string json)
    {
        Assert.Equal(RefusalReason.MalformedJson, Refuse(json).Reason);
    }

    [Fact]
    public void Invalid_UTF8_is_refused_as_malformed()
    {
        byte[] payload = [.. "{\"a"u8, 0xC3, 0x28, .. "\":1}"u8];
        Assert.Equal(RefusalReason.MalformedJson, Refuse(payload).Reason);
    }

    [Theory]
    [InlineData("21.5")]
    [InlineData("\"hello\"")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("[1,2]")]
    [InlineData("[{\"a\":1},2]")]
    public void JSON_that_is_not_a_reading_is_refused(string json)
    {
        Assert.Equal(RefusalReason.NotAReading, Refuse(json).Reason);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"ts\":1795860000000}")]
    [InlineData("[]")]
    public void No_metrics_is_refused(string json)
    {
        Assert.Equal(RefusalReason.NoMetrics, Refuse(json).Reason);
    }

    [Theory]
    [InlineData("{\"a\":\"21.5\"}")]
    [InlineData("{\"a\":true}")]
    [InlineData("{\"a\":null}")]
    [InlineData("{\"a\":{\"v\":1}}")]
    [InlineData("{\"a\":[1]}")]
    [InlineData("{\"a\":\"NaN\"}")]
    public void Non_numeric_metrics_are_refused_naming_the_metric(string json)
    {
        var refusal = Refuse(json);
        Assert.Equal(RefusalReason.NonNumericMetric, refusal.Reason);
        Assert.Contains("'a'", refusal.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"a\":1e400}")]
    [InlineData("{\"a\":-1e400}")]
    public void Numbers_beyond_double_are_refused_as_non_finite(string json)
    {
        Assert.Equal(RefusalReason.NonFiniteMetric, Refuse(json).Reason);
    }

    [Theory]
    [InlineData("{\"\":1}")]
    [InlineData("{\"_field\":1}")]
    [InlineData("{\"a\\nb\":1}")]
    [InlineData("{\"a\\\\b\":1}")]
    [InlineData("{\"a\":1,\"a\":2}")]
    public void Unusable_metric_names_are_refused(string json)
    {
        Assert.Equal(RefusalReason.InvalidMetricName, Refuse(json).Reason);
    }

    [Theory]
    [InlineData("time")]
    [InlineData("Time")]
    [InlineData("building")]
    [InlineData("room")]
    [InlineData("sensor")]
    [InlineData("unregistered")]
    [InlineData("UNREGISTERED")]
    [InlineData("kind")]
    [InlineData("metric")]
    public void Metric_names_equal_to_a_tag_key_or_time_are_refused_as_reserved(string name)
    {
        var refusal = Refuse($$"""{"{{name}}":1}""");
        Assert.Equal(RefusalReason.MetricNameReserved, refusal.Reason);
        Assert.Equal("metric_name_reserved", refusal.Code);
    }

    [Fact]
    public void Every_tag_key_the_schema_writes_is_a_reserved_metric_name()
    {
        foreach (var key in Telemetry.Domain.Schema.TagKeys.All)
        {
            Assert.Equal(RefusalReason.MetricNameReserved, Refuse($$"""{"{{key}}":1}""").Reason);
        }

        Assert.Single(Accept("""{"unregistered_count":1}"""));
    }

    [Fact]
    public void A_metric_name_over_64_characters_is_refused()
    {
        var name = new string('m', IngestLimits.MaxMetricNameLength + 1);
        Assert.Equal(RefusalReason.InvalidMetricName, Refuse($$"""{"{{name}}":1}""").Reason);
        Assert.Single(Accept($$"""{"{{name[1..]}}":1}"""));
    }

    [Fact]
    public void Metric_names_may_hold_spaces_punctuation_and_non_ascii()
    {
        var metrics = Assert.Single(Accept("""{"temp, °C":1,"a=b":2,"say \"hi\"":3}""")).Metrics;
        Assert.Equal(["temp, °C", "a=b", "say \"hi\""], metrics.Select(m => m.Name));
    }

    [Theory]
    [InlineData("{\"ts\":1795860000000.5,\"a\":1}")]
    [InlineData("{\"ts\":\"yesterday\",\"a\":1}")]
    [InlineData("{\"ts\":\"2026-11-28T09:59:00\",\"a\":1}")]
    [InlineData("{\"ts\":\"2026-11-28\",\"a\":1}")]
    [InlineData("{\"ts\":\"2026-11-28T09:59:00.Z\",\"a\":1}")]
    [InlineData("{\"ts\":true,\"a\":1}")]
    [InlineData("{\"ts\":null,\"a\":1}")]
    [InlineData("{\"ts\":{},\"a\":1}")]
    [InlineData("{\"ts\":1795860000000,\"ts\":1795860000000,\"a\":1}")]
    public void Unreadable_timestamps_are_refused(string json)
    {
        Assert.Equal(RefusalReason.InvalidTimestamp, Refuse(json).Reason);
    }

    [Fact]
    public void Readings_of_a_batch_need_their_own_timestamps()
    {
        var refusal = Refuse("""[{"ts":1795860000000,"a":1},{"a":2}]""");
        Assert.Equal(RefusalReason.InvalidTimestamp, refusal.Reason);
        Assert.Contains("1 of the 2", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_timestamp_years_off_is_refused()
    {
        var yearsAgo = Now.AddYears(-3).ToUnixTimeMilliseconds();
        var yearsAhead = Now.AddYears(5).ToUnixTimeMilliseconds();
        Assert.Equal(RefusalReason.TimestampOutOfRange, Refuse($$"""{"ts":{{yearsAgo}},"a":1}""").Reason);
        Assert.Equal(RefusalReason.TimestampOutOfRange, Refuse($$"""{"ts":{{yearsAhead}},"a":1}""").Reason);
        Assert.Equal(RefusalReason.TimestampOutOfRange, Refuse("""{"ts":"1999-01-01T00:00:00Z","a":1}""").Reason);
        Assert.Equal(RefusalReason.TimestampOutOfRange, Refuse("""{"ts":1795860000,"a":1}""").Reason); // seconds, not ms
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    [InlineData(-1)]
    public void Extreme_integer_timestamps_are_refused_not_crashed_on(long ts)
    {
        var refusal = Refuse($$"""{"ts":{{ts}},"a":1}""");
        Assert.Equal(RefusalReason.TimestampOutOfRange, refusal.Reason);
    }

    [Fact]
    public void Timestamps_at_the_edges_of_the_window_are_accepted()
    {
        var oldest = NowMs - (long)Limits.MaxAge.TotalMilliseconds;
        var newest = NowMs + (long)Limits.MaxFutureSkew.TotalMilliseconds;
        Assert.Single(Accept($$"""{"ts":{{oldest}},"a":1}"""));
        Assert.Single(Accept($$"""{"ts":{{newest}},"a":1}"""));
        Assert.Equal(RefusalReason.TimestampOutOfRange, Refuse($$"""{"ts":{{oldest - 1}},"a":1}""").Reason);
        Assert.Equal(RefusalReason.TimestampOutOfRange, Refuse($$"""{"ts":{{newest + 1}},"a":1}""").Reason);
    }

    [Fact]
    public void Too_many_readings_or_metrics_are_refused()
    {
        var limits = new IngestLimits { MaxReadingsPerMessage = 2, MaxMetricsPerReading = 2 };
        Assert.Equal(RefusalReason.TooManyValues,
            Refuse("""[{"ts":1795860000000,"a":1},{"ts":1795860000001,"a":1},{"ts":1795860000002,"a":1}]""", limits).Reason);
        Assert.Equal(RefusalReason.TooManyValues, Refuse("""{"a":1,"b":2,"c":3}""", limits).Reason);
        Assert.Equal(2, Accept("""[{"ts":1795860000000,"a":1,"b":2},{"ts":1795860000001,"a":1}]""", limits).Count);
    }

    [Fact]
    public void One_bad_reading_refuses_the_whole_batch_and_says_which()
    {
        var refusal = Refuse("""[{"ts":1795860000000,"a":1},{"ts":1795860000001,"a":"x"}]""");
        Assert.Equal(RefusalReason.NonNumericMetric, refusal.Reason);
        Assert.StartsWith("reading 1:", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Deeply_nested_JSON_is_refused_without_blowing_the_stack()
    {
        var json = "{\"a\":" + new string('[', 10_000) + new string(']', 10_000) + "}";
        Assert.Contains(Refuse(json).Reason, new[] { RefusalReason.MalformedJson, RefusalReason.NonNumericMetric });
    }

    [Fact]
    public void Format_produces_a_payload_the_parser_reads_back()
    {
        var reading = new Reading(NowMs - 5000, [new Metric("temperature", 21.125), new Metric("say \"hi\"", -3e-5)]);
        var parsed = Assert.Single(Accept(PayloadParser.Format(reading)));
        Assert.Equal(reading.TimestampMs, parsed.TimestampMs);
        Assert.Equal(reading.Metrics, parsed.Metrics);
    }
}
