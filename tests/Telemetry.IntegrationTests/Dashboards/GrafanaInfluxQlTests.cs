namespace Telemetry.IntegrationTests.Dashboards;

/// <summary>The Grafana macro and variable substitution on its own (pure logic, no server).</summary>
public sealed class GrafanaInfluxQlTests
{
    static readonly DateTimeOffset From = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
    static readonly DateTimeOffset To = From.AddHours(24);

    static GrafanaInfluxQl Day(params GrafanaVariable[] variables) => new(From, To, variables, maxDataPoints: 1000);

    [Fact]
    public void Time_filter_is_the_range_in_epoch_milliseconds_inclusive()
    {
        Assert.Equal(
            "SELECT x FROM m WHERE time >= 1700000000000ms and time <= 1700086400000ms",
            Day().Interpolate("SELECT x FROM m WHERE $timeFilter"));
    }

    [Theory]
    [InlineData(24 * 60, 1000, "1m", 60_000)]       // 86.4 s per point rounds to 1m
    [InlineData(60, 1000, "5s", 5_000)]              // 3.6 s rounds to 5s
    [InlineData(6 * 60, 1000, "20s", 20_000)]        // 21.6 s rounds to 20s
    [InlineData(7 * 24 * 60, 1000, "10m", 600_000)]  // 604.8 s rounds to 10m
    [InlineData(30 * 24 * 60, 1000, "30m", 1_800_000)] // 2592 s rounds to 30m
    [InlineData(5, 1000, "200ms", 200)]              // 300 ms rounds to 200ms
    public void Interval_is_range_over_max_data_points_rounded_like_grafana(int minutes, int maxDataPoints, string text, long ms)
    {
        var query = new GrafanaInfluxQl(From, From.AddMinutes(minutes), maxDataPoints: maxDataPoints);

        Assert.Equal(ms, (long)query.Interval.TotalMilliseconds);
        Assert.Equal($"GROUP BY time({text}) {ms} {text}", query.Interpolate("GROUP BY time($__interval) $__interval_ms $interval"));
    }

    [Fact]
    public void Minimum_interval_wins_over_a_finer_computed_one()
    {
        var query = new GrafanaInfluxQl(From, From.AddHours(1), maxDataPoints: 1000, minInterval: TimeSpan.FromSeconds(15));

        Assert.Equal("time(15s)", query.Interpolate("time($__interval)"));
    }

    [Theory]
    [InlineData(1, "1ms")]
    [InlineData(999, "999ms")]
    [InlineData(1_000, "1s")]
    [InlineData(90_000, "1m")]
    [InlineData(7_200_000, "2h")]
    [InlineData(86_400_000, "1d")]
    [InlineData(31_536_000_000, "1y")]
    public void Interval_text_uses_the_largest_whole_unit(long ms, string text)
    {
        Assert.Equal(text, GrafanaInfluxQl.FormatInterval(TimeSpan.FromMilliseconds(ms)));
    }

    [Fact]
    public void From_to_and_range_are_epoch_milliseconds_and_seconds()
    {
        Assert.Equal(
            "1700000000000 1700086400000 1700000000000ms 86400000 86400 86400s",
            Day().Interpolate("$__from $__to ${__from}ms $__range_ms $__range_s $__range"));
    }

    [Fact]
    public void Multi_value_variable_becomes_an_escaped_regex_alternation()
    {
        var building = new GrafanaVariable("building", ["bldg-1", "bldg.2"], Multi: true, IncludeAll: true);

        Assert.Equal(
            "SELECT x FROM m WHERE \"building\" =~ /^(bldg-1|bldg\\.2)$/",
            Day(building).Interpolate("SELECT x FROM m WHERE \"building\" =~ /^$building$/"));
    }

    [Fact]
    public void Multi_value_variable_with_one_value_is_that_value_escaped_without_parentheses()
    {
        var room = new GrafanaVariable("room", ["lab/1"], Multi: true);

        Assert.Equal("\"room\" =~ /^lab\\/1$/", Day(room).Interpolate("\"room\" =~ /^$room$/"));
    }

    [Fact]
    public void Single_value_variable_is_escaped_only_inside_a_regex()
    {
        var sensor = new GrafanaVariable("sensor", ["a.b"]);

        Assert.Equal(
            "\"sensor\" = 'a.b' AND \"sensor\" =~ /^a\\.b$/ AND \"x\" !~ /a\\.b/",
            Day(sensor).Interpolate("\"sensor\" = '$sensor' AND \"sensor\" =~ /^$sensor$/ AND \"x\" !~ /$sensor/"));
    }

    [Fact]
    public void Every_variable_syntax_is_replaced()
    {
        var kind = new GrafanaVariable("kind", ["co2"]);

        Assert.Equal("co2 co2 co2 co2", Day(kind).Interpolate("$kind ${kind} [[kind]] ${kind:raw}"));
    }

    [Fact]
    public void Explicit_formats_follow_grafana()
    {
        var rooms = new GrafanaVariable("room", ["r1", "r2"], Multi: true);

        Assert.Equal("r1,r2 r1|r2 (r1|r2) 'r1','r2'", Day(rooms).Interpolate("${room:csv} ${room:pipe} ${room:regex} ${room:singlequote}"));
    }

    [Fact]
    public void Unknown_variables_are_left_as_grafana_leaves_them()
    {
        Assert.Equal("SELECT $nope FROM m", Day().Interpolate("SELECT $nope FROM m"));
    }

    [Fact]
    public void Regex_escaping_covers_every_metacharacter()
    {
        Assert.Equal(@"\\\^\$\*\+\?\.\(\)\|\[\]\{\}\/-", GrafanaInfluxQl.EscapeRegex(@"\^$*+?.()|[]{}/-"));
    }

    [Fact]
    public void Unsupported_format_is_a_clear_error()
    {
        var room = new GrafanaVariable("room", ["r1"]);

        var error = Assert.Throws<NotSupportedException>(() => Day(room).Interpolate("${room:lucene}"));
        Assert.Contains("lucene", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reversed_range_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new GrafanaInfluxQl(To, From));
        Assert.Contains("before it starts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Panel_relative_time_today_starts_at_local_midnight()
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

        var (from, to) = GrafanaInfluxQl.PanelRange(From, To, "now/d", zone);

        var localFrom = TimeZoneInfo.ConvertTime(from, zone);
        Assert.Equal(TimeSpan.Zero, localFrom.TimeOfDay);
        Assert.True(to - from <= TimeSpan.FromHours(25));
        var (weekFrom, _) = GrafanaInfluxQl.PanelRange(From, To, "now/w", zone);
        Assert.Equal(DayOfWeek.Monday, TimeZoneInfo.ConvertTime(weekFrom, zone).DayOfWeek);
        var (sevenFrom, sevenTo) = GrafanaInfluxQl.PanelRange(From, To, "7d", zone);
        Assert.Equal(TimeSpan.FromDays(7), sevenTo - sevenFrom);
        Assert.Equal((From, To), GrafanaInfluxQl.PanelRange(From, To, null, zone));
    }
}
