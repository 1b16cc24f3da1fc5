using Telemetry.Broker.Identity;

namespace Telemetry.UnitTests.Identity;

/// <summary>Which topics and filters touch the alert root: the basis of forged-alert refusals and the alerts role.</summary>
public sealed class ProtectedTopicsTests
{
    static readonly ProtectedTopics Topics = new("campus/alerts/");

    [Theory]
    [InlineData("campus/alerts/b1/r1/s1/too-warm", true)]
    [InlineData("campus/alerts", true)]
    [InlineData("campus/alertsx/b1", false)]
    [InlineData("campus/b1/r1/s1/telemetry", false)]
    public void A_publish_topic_is_an_alert_topic_only_under_the_root(string topic, bool alert) =>
        Assert.Equal(alert, Topics.IsAlertTopic(topic));

    [Theory]
    [InlineData("#", true, false)]
    [InlineData("campus/#", true, false)]
    [InlineData("campus/+/#", true, false)]
    [InlineData("+/alerts/#", true, false)]
    [InlineData("campus/+/+/+/telemetry", true, false)]
    [InlineData("campus/alerts/#", true, true)]
    [InlineData("campus/alerts/b1/+/+/+", true, true)]
    [InlineData("campus/b1/r1/s1/telemetry", false, false)]
    [InlineData("campus", false, false)]
    [InlineData("other/#", false, false)]
    public void A_filter_may_match_alerts_when_its_levels_can_reach_the_root(string filter, bool mayMatch, bool within)
    {
        Assert.Equal(mayMatch, Topics.MayMatchAlerts(filter));
        Assert.Equal(within, Topics.IsWithinAlerts(filter));
    }
}
