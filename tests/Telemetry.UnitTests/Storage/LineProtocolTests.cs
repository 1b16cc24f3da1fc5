using Telemetry.Contracts;
using Telemetry.Storage;

namespace Telemetry.UnitTests.Storage;

/// <summary>
/// Expected lines are written from the line-protocol spec by hand: in measurement names commas and spaces are
/// escaped; in tag keys, tag values and field keys commas, spaces and '=' are escaped; nothing else is.
/// </summary>
public class LineProtocolTests
{
    const long Ts = 1795860000123;

    static string Line(string building, string room, string sensor, params Metric[] metrics) =>
        LineProtocol.ToLine(new SensorAddress(building, room, sensor), new Reading(Ts, metrics));

    [Fact]
    public void A_plain_reading_becomes_one_line_with_tags_fields_and_millisecond_time()
    {
        Assert.Equal("telemetry,building=north,room=r101,sensor=t1 humidity=40.25,temperature=21.5 1795860000123",
            Line("north", "r101", "t1", new Metric("temperature", 21.5), new Metric("humidity", 40.25)));
    }

    [Fact]
    public void Spaces_commas_and_equals_in_tags_and_field_keys_are_escaped()
    {
        Assert.Equal(@"telemetry,building=Main\ Hall,room=a\,b\=c,sensor=s\ 1 temp\,\ °C\=x=1 1795860000123",
            Line("Main Hall", "a,b=c", "s 1", new Metric("temp, °C=x", 1)));
    }

    [Fact]
    public void Quotes_and_non_ascii_pass_through_unchanged()
    {
        Assert.Equal("telemetry,building=Gebäude\"A\",room=Хол,sensor=传感器 \"v\"=2 1795860000123",
            Line("Gebäude\"A\"", "Хол", "传感器", new Metric("\"v\"", 2)));
    }

    [Fact]
    public void Newlines_never_split_a_line()
    {
        var line = Line("b\nc", "r\r\n", "s", new Metric("x\ny", 1));
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\r', line);
        Assert.Equal(@"telemetry,building=b\nc,room=r\r\n,sensor=s x\ny=1 1795860000123", line);
    }

    [Theory]
    [InlineData("a \\")]
    [InlineData("\\")]
    [InlineData("x\\,y")]
    public void A_backslash_in_a_tag_or_field_key_is_refused(string name)
    {
        Assert.Throws<ArgumentException>(() => Line(name, "r", "s", new Metric("v", 1)));
        Assert.Throws<ArgumentException>(() => Line("b", "r", "s", new Metric(name, 1)));
    }

    [Fact]
    public void An_injection_attempt_stays_inside_its_tag_value()
    {
        // Without escaping this would end the tag set, add a field and start a second point.
        var line = Line("north", "r1 evil=1 0\ntelemetry,building=x", "s", new Metric("v", 1));
        Assert.Equal(@"telemetry,building=north,room=r1\ evil\=1\ 0\ntelemetry\,building\=x,sensor=s v=1 1795860000123", line);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Non_finite_values_are_refused_rather_than_dropped(double value)
    {
        Assert.Throws<ArgumentException>(() => Line("b", "r", "s", new Metric("v", value)));
    }

    [Fact]
    public void Integral_and_extreme_doubles_are_written_as_floats_that_read_back_exactly()
    {
        var line = Line("b", "r", "s", new Metric("a", 21), new Metric("b", 1e20), new Metric("c", -1.5e-7), new Metric("d", double.MaxValue));
        var fields = line.Split(' ')[1].Split(',').Select(f => f.Split('=')).ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(21, fields["a"]);
        Assert.Equal(1e20, fields["b"]);
        Assert.Equal(-1.5e-7, fields["c"]);
        Assert.Equal(double.MaxValue, fields["d"]);
        Assert.DoesNotContain("i", line.Split(' ')[1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_gives_one_line_per_reading()
    {
        var lines = LineProtocol.ToLines(new SensorAddress("b", "r", "s"),
            [new Reading(1, [new Metric("v", 1)]), new Reading(2, [new Metric("v", 2)])]);
        Assert.Equal(["telemetry,building=b,room=r,sensor=s v=1 1", "telemetry,building=b,room=r,sensor=s v=2 2"], lines);
    }
}
