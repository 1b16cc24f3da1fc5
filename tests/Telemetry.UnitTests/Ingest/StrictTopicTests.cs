using Telemetry.Domain.Ingest;

namespace Telemetry.UnitTests.Ingest;

/// <summary>MQTT's own rules for a PUBLISH topic name, and how client-chosen names are written to logs.</summary>
public class StrictTopicTests
{
    [Theory]
    [InlineData("campus/north/r101/+/telemetry", "wildcard '+'")]
    [InlineData("campus/north/r101/#/telemetry", "wildcard '#'")]
    [InlineData("campus/north/r+1/temp/telemetry", "wildcard '+'")]
    [InlineData("campus/north/r101/temp/#", "wildcard '#'")]
    [InlineData("campus/no\0rth/r101/temp/telemetry", "NUL")]
    [InlineData("campus\0/north/r101/temp/telemetry", "NUL")]
    [InlineData("campus/north/r101/te\uFFFDmp/telemetry", "not valid UTF-8")]
    public void Wildcards_NUL_and_invalid_UTF8_refuse_the_topic_name(string topic, string why)
    {
        Assert.False(TelemetryTopic.TryParse(topic, out _, out _, out var refusal));
        Assert.Equal(RefusalReason.InvalidTopicName, refusal.Reason);
        Assert.Equal("invalid_topic_name", refusal.Code);
        Assert.Contains(why, refusal.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain('\0', refusal.Detail);
    }

    [Fact]
    public void A_topic_without_them_is_a_valid_topic_name()
    {
        Assert.True(TelemetryTopic.IsValidTopicName("campus/Hörsaal/Raum 1/temp-1/telemetry", out _));
    }

    [Fact]
    public void Control_characters_are_shown_as_escapes()
    {
        Assert.Equal("dev\\u000D\\u000A2026-01-01 INFO forged", Text.ForLog("dev\r\n2026-01-01 INFO forged"));
        Assert.Equal("a\\u0000b\\u001Bc", Text.ForLog("a\0b\u001bc"));
    }

    [Fact]
    public void Long_names_are_cut_with_an_ellipsis()
    {
        var name = new string('x', 1000);

        var shown = Text.ForLog(name);

        Assert.Equal(Text.MaxLogLength + 1, shown.Length);
        Assert.EndsWith("…", shown, StringComparison.Ordinal);
        Assert.StartsWith(new string('x', Text.MaxLogLength), shown, StringComparison.Ordinal);
    }

    [Fact]
    public void The_cut_never_splits_a_surrogate_pair()
    {
        var name = new string('x', Text.MaxLogLength - 1) + "😀tail";

        var shown = Text.ForLog(name);

        Assert.Equal(new string('x', Text.MaxLogLength - 1) + "…", shown);
    }

    [Fact]
    public void Short_printable_names_and_null_pass_unchanged()
    {
        Assert.Equal("north-r101-temp", Text.ForLog("north-r101-temp"));
        Assert.Equal("", Text.ForLog(null));
    }
}
