using Telemetry.Domain.Ingest;

namespace Telemetry.UnitTests.Ingest;

public class TelemetryTopicTests
{
    [Fact]
    public void A_well_formed_topic_gives_building_room_and_sensor()
    {
        Assert.True(TelemetryTopic.TryParse("campus/north/r101/north-r101-temp/telemetry", out var address, out _));
        Assert.Equal("north", address.Building);
        Assert.Equal("r101", address.Room);
        Assert.Equal("north-r101-temp", address.Sensor);
    }

    [Fact]
    public void Segments_may_hold_spaces_punctuation_and_non_ascii()
    {
        Assert.True(TelemetryTopic.TryParse("campus/Hörsaal Gebäude/Raum 1,2=3/sensor \"a\"/telemetry", out var address, out _));
        Assert.Equal("Hörsaal Gebäude", address.Building);
        Assert.Equal("Raum 1,2=3", address.Room);
        Assert.Equal("sensor \"a\"", address.Sensor);
    }

    [Theory]
    [InlineData("")]
    [InlineData("campus")]
    [InlineData("campus/north/r101/temp")]
    [InlineData("campus/north/r101/temp/status")]
    [InlineData("campus/north/r101/temp/telemetry/extra")]
    [InlineData("site/north/r101/temp/telemetry")]
    [InlineData("/campus/north/r101/temp/telemetry")]
    [InlineData("campus/alerts/north/r101/temp")]
    public void Other_topic_shapes_are_refused(string topic)
    {
        Assert.False(TelemetryTopic.TryParse(topic, out _, out var refusal));
        Assert.Equal(RefusalReason.TopicNotAllowed, refusal.Reason);
        Assert.Equal("topic_not_allowed", refusal.Code);
    }

    [Theory]
    [InlineData("campus//r101/temp/telemetry", "building")]
    [InlineData("campus/north//temp/telemetry", "room")]
    [InlineData("campus/north/r101//telemetry", "sensor")]
    [InlineData("campus/north/r1\n01/temp/telemetry", "room")]
    [InlineData("campus/no\\rth/r101/temp/telemetry", "building")]
    [InlineData("campus/north/r101/temp\\/telemetry", "sensor")]
    public void Empty_or_unwritable_segments_are_refused_naming_the_segment(string topic, string segment)
    {
        Assert.False(TelemetryTopic.TryParse(topic, out _, out var refusal));
        Assert.Equal(RefusalReason.InvalidTopicSegment, refusal.Reason);
        Assert.Contains(segment, refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_segment_longer_than_the_limit_is_refused()
    {
        var longSensor = new string('s', TelemetryTopic.MaxSegmentLength + 1);
        Assert.False(TelemetryTopic.TryParse($"campus/north/r101/{longSensor}/telemetry", out _, out var refusal));
        Assert.Equal(RefusalReason.InvalidTopicSegment, refusal.Reason);
        Assert.True(TelemetryTopic.TryParse($"campus/north/r101/{longSensor[1..]}/telemetry", out _, out _));
    }

    [Fact]
    public void Control_characters_are_shown_escaped_in_the_reason()
    {
        Assert.False(TelemetryTopic.TryParse("campus/north/r1\n01/temp/telemetry", out _, out var refusal));
        Assert.Contains("r1\\u000A01", refusal.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refusal.Detail);
    }
}

public class TelemetryTopicFormatTests
{
    [Theory]
    [InlineData("campus/north/r101/north-r101-temp/telemetry", PayloadFormat.Json)]
    [InlineData("campus/north/r101/north-r101-temp/senml", PayloadFormat.Senml)]
    public void The_overload_with_a_format_recognises_telemetry_and_senml(string topic, PayloadFormat expected)
    {
        Assert.True(TelemetryTopic.TryParse(topic, out var address, out var format, out _));
        Assert.Equal(expected, format);
        Assert.Equal("north-r101-temp", address.Sensor);
        Assert.Equal(topic, TelemetryTopic.Format(address, format));
    }

    [Fact]
    public void The_original_overload_still_refuses_the_senml_topic()
    {
        Assert.False(TelemetryTopic.TryParse("campus/north/r101/temp/senml", out _, out var refusal));
        Assert.Equal(RefusalReason.TopicNotAllowed, refusal.Reason);
    }

    [Theory]
    [InlineData("campus/north/r101/temp/SenML")]
    [InlineData("campus/north/r101/temp/senml/extra")]
    [InlineData("site/north/r101/temp/senml")]
    public void Other_shapes_are_refused_by_the_overload_too(string topic)
    {
        Assert.False(TelemetryTopic.TryParse(topic, out _, out _, out var refusal));
        Assert.Equal(RefusalReason.TopicNotAllowed, refusal.Reason);
        Assert.Contains("senml", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Senml_topic_segments_are_checked_like_telemetry_ones()
    {
        Assert.False(TelemetryTopic.TryParse("campus/north//temp/senml", out _, out _, out var refusal));
        Assert.Equal(RefusalReason.InvalidTopicSegment, refusal.Reason);
    }
}
