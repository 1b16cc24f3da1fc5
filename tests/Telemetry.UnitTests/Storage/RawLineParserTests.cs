using Telemetry.Contracts;
using Telemetry.Storage;

namespace Telemetry.UnitTests.Storage;

/// <summary>
/// The grain feeder reads the spool's raw lines back into messages: what <see cref="LineProtocol.ToLines"/> wrote must
/// come back exactly (names with escaped characters, every double to the bit), and anything else is refused with a
/// reason rather than read as something it is not.
/// </summary>
public class RawLineParserTests
{
    const long Ts = 1795860000123;
    const long AppendedAt = 1795860000999;

    static readonly SensorAddress Plain = new("north", "r101", "t1");

    static TelemetryMessage RoundTrip(SensorAddress address, Reading[] readings, bool unregistered = false) =>
        RawLineParser.ParseRecord(LineProtocol.ToLines(address, readings, unregistered), AppendedAt);

    /// <summary>Same address, same readings in order, each with the same metrics (compared by name: PointData sorts them) to the bit.</summary>
    static void AssertSame(SensorAddress address, Reading[] readings, TelemetryMessage parsed)
    {
        Assert.Equal(address, parsed.Address);
        Assert.Equal(AppendedAt, parsed.ReceivedAtMs);
        Assert.Equal(readings.Length, parsed.Readings.Count);
        for (var i = 0; i < readings.Length; i++)
        {
            Assert.Equal(readings[i].TimestampMs, parsed.Readings[i].TimestampMs);
            Assert.Equal(
                readings[i].Metrics.OrderBy(m => m.Name, StringComparer.Ordinal).Select(m => (m.Name, BitConverter.DoubleToInt64Bits(m.Value))),
                parsed.Readings[i].Metrics.OrderBy(m => m.Name, StringComparer.Ordinal).Select(m => (m.Name, BitConverter.DoubleToInt64Bits(m.Value))));
        }
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(1e-300)]
    [InlineData(-0.0)]
    [InlineData(123456789.123456789)]
    [InlineData(double.MaxValue)]
    [InlineData(double.MinValue)]
    [InlineData(double.Epsilon)]
    [InlineData(-1.5e-7)]
    [InlineData(1e20)]
    [InlineData(21)]
    [InlineData(0.30000000000000004)]
    [InlineData(-123.456)]
    public void Every_double_reads_back_to_the_same_bits(double value)
    {
        Reading[] readings = [new(Ts, [new Metric("v", value)])];
        var parsed = RoundTrip(Plain, readings);
        AssertSame(Plain, readings, parsed);
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(parsed.Readings[0].Metrics[0].Value));
    }

    [Fact]
    public void Negative_zero_stays_negative()
    {
        var parsed = RoundTrip(Plain, [new Reading(Ts, [new Metric("v", -0.0)])]);
        Assert.True(double.IsNegative(parsed.Readings[0].Metrics[0].Value));
    }

    [Theory]
    [InlineData("Main Hall", "a,b=c", "s 1", "temp, °C=x")]
    [InlineData("b\nc", "r\r\n", "s\t2", "x\ny")]
    [InlineData("Gebäude\"A\"", "Хол", "传感器", "\"v\"")]
    [InlineData("r1 evil=1 0\ntelemetry,building=x", "=", ",", " ")]
    [InlineData("a=b", "==", "x,,y", "k=v,w=z")]
    [InlineData("trailing ", " leading", "mid = dle", "😀 emoji")]
    public void Escaped_names_read_back_exactly(string building, string room, string sensor, string metric)
    {
        var address = new SensorAddress(building, room, sensor);
        Reading[] readings = [new(Ts, [new Metric(metric, 1.25), new Metric("other", -2)])];
        AssertSame(address, readings, RoundTrip(address, readings));
    }

    [Fact]
    public void A_message_of_several_readings_reads_back_in_order_with_the_append_time_as_its_receive_time()
    {
        Reading[] readings =
        [
            new(Ts + 2_000, [new Metric("temperature", 21.5), new Metric("humidity", 40.25), new Metric("battery", 3.7)]),
            new(Ts, [new Metric("temperature", 21.4)]),
            new(Ts + 1_000, [new Metric("temperature", 0.1), new Metric("zeta", 1e-300), new Metric("alpha", -0.0)]),
        ];
        var parsed = RoundTrip(Plain, readings);
        AssertSame(Plain, readings, parsed);
    }

    [Fact]
    public void The_unregistered_tag_is_not_part_of_the_address()
    {
        Reading[] readings = [new(Ts, [new Metric("v", 3)])];
        var lines = LineProtocol.ToLines(Plain, readings, unregistered: true);
        Assert.Contains(",unregistered=true", lines[0], StringComparison.Ordinal);
        AssertSame(Plain, readings, RawLineParser.ParseRecord(lines, AppendedAt));
    }

    [Fact]
    public void Raw_lines_are_told_from_derived_ones_by_their_measurement()
    {
        var raw = LineProtocol.ToLine(Plain, new Reading(Ts, [new Metric("v", 1)]));
        var rollup = Telemetry.Storage.Schema.SeriesLines.RollupWindow(Plain, "freezer", "v", Ts, 1, 2, 1.5, 2, 2);
        Assert.True(RawLineParser.IsRaw(raw));
        Assert.False(RawLineParser.IsRaw(rollup));
        Assert.False(RawLineParser.IsRaw("telemetry_1m,building=b v=1 1"));
        Assert.True(RawLineParser.IsRawRecord([raw]));
        Assert.False(RawLineParser.IsRawRecord([rollup, raw]));
        Assert.False(RawLineParser.IsRawRecord([]));
    }

    [Theory]
    [InlineData("telemetry,building=b,room=r,sensor=s v=1i 1", "not_a_float")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=1u 1", "not_a_float")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=true 1", "not_a_float")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=\"x\" 1", "not_a_float")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=NaN 1", "not_a_float")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=Infinity 1", "not_a_float")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=1e999 1", "not_a_float")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=0x10 1", "not_a_float")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=1 1.5", "bad_timestamp")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=1 x", "bad_timestamp")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=1", "malformed")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=1 1 2", "malformed")]
    [InlineData("telemetry,building=b,room=r,sensor=s v=1,v=2 1", "malformed")]
    [InlineData("telemetry,building=b,room=r,sensor=s =1 1", "malformed")]
    [InlineData("telemetry,building=b,room=r,sensor=s v= 1", "malformed")]
    [InlineData("telemetry,building=b,room=r,sensor=s\\q v=1 1", "malformed")]
    [InlineData("telemetry,building=b,room=r,sensor=s\\ v=1 1", "malformed")]
    [InlineData("telemetry v=1 1", "malformed")]
    [InlineData("telemetry,building=b,room=r v=1 1", "missing_tag")]
    [InlineData("telemetry,building=b,room=r,sensor=s,sensor=t v=1 1", "unexpected_tag")]
    [InlineData("telemetry,building=b,room=r,sensor=s,kind=x v=1 1", "unexpected_tag")]
    [InlineData("telemetry,building=b,room=r,sensor=s,unregistered=false v=1 1", "unexpected_tag")]
    public void Lines_LineProtocol_never_writes_are_refused_with_a_reason(string line, string reason)
    {
        var error = Assert.Throws<RawLineFormatException>(() => RawLineParser.ParseRecord([line], AppendedAt));
        Assert.Equal(reason, error.Reason);
    }

    [Fact]
    public void A_record_must_hold_one_sensor_and_raw_lines_only()
    {
        var one = LineProtocol.ToLine(Plain, new Reading(Ts, [new Metric("v", 1)]));
        var other = LineProtocol.ToLine(Plain with { Sensor = "t2" }, new Reading(Ts, [new Metric("v", 1)]));
        var rollup = Telemetry.Storage.Schema.SeriesLines.RollupWindow(Plain, "freezer", "v", Ts, 1, 2, 1.5, 2, 2);

        Assert.Equal(RawLineFormatException.MixedSensors, Assert.Throws<RawLineFormatException>(() => RawLineParser.ParseRecord([one, other], AppendedAt)).Reason);
        Assert.Equal(RawLineFormatException.MixedRecord, Assert.Throws<RawLineFormatException>(() => RawLineParser.ParseRecord([one, rollup], AppendedAt)).Reason);
        Assert.Equal(RawLineFormatException.Empty, Assert.Throws<RawLineFormatException>(() => RawLineParser.ParseRecord([], AppendedAt)).Reason);
    }

    [Fact]
    public void Random_readings_read_back_exactly()
    {
        var random = new Random(12);
        const string alphabet = "ab ,=\n\r\tZ9é\"😀";
        string Name() => string.Concat(Enumerable.Range(0, random.Next(1, 8)).Select(_ => alphabet[random.Next(alphabet.Length)]))
            .Replace("\uD83D", "x", StringComparison.Ordinal).Replace("\uDE00", "y", StringComparison.Ordinal);

        for (var round = 0; round < 500; round++)
        {
            var address = new SensorAddress(Name(), Name(), Name());
            var readings = Enumerable.Range(0, random.Next(1, 4))
                .Select(r => new Reading(Ts + r, [.. Enumerable.Range(0, random.Next(1, 5)).Select(m => new Metric($"{Name()}{m}", BitConverter.Int64BitsToDouble(random.NextInt64())))
                    .Where(m => double.IsFinite(m.Value)).DefaultIfEmpty(new Metric("v", 0.1)).DistinctBy(m => m.Name)]))
                .ToArray();
            AssertSame(address, readings, RoundTrip(address, readings, unregistered: round % 2 == 0));
        }
    }
}
