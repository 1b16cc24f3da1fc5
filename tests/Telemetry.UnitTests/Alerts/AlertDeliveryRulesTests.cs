using System.Text.Json;
using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Service.Alerts;

namespace Telemetry.UnitTests.Alerts;

/// <summary>The outboxes' pure rules (<see cref="AlertDeliveryRules"/>), the webhook filter and options check, and the notification payload.</summary>
public class AlertDeliveryRulesTests
{
    static readonly AlertInfo Active = new("s1/hot/1000", "b", "r", "s1", "hot", AlertRuleType.Threshold, AlertSeverity.Warning,
        AlertState.Active, 1000, 60, "hot", null, null, null, null, null, false);

    static readonly AlertInfo Acknowledged = Active with { State = AlertState.Acknowledged, AcknowledgedAtMs = 2000, AcknowledgedBy = "ann" };

    [Theory]
    [InlineData(AlertEvent.Raised, AlertNotificationKind.Raised, "s1/hot/1000/raised/1000")]
    [InlineData(AlertEvent.Acknowledged, AlertNotificationKind.Acknowledged, "s1/hot/1000/acknowledged/1000")]
    [InlineData(AlertEvent.Cleared, AlertNotificationKind.Cleared, "s1/hot/1000/cleared/1000")]
    public void A_step_becomes_the_notification_of_its_kind_keyed_by_alert_kind_and_time(AlertEvent alertEvent, AlertNotificationKind kind, string key)
    {
        var notification = AlertDeliveryRules.Of(new AlertStep(alertEvent, 1000, Active));
        Assert.Equal((kind, key, 1000L, 0), (notification.Kind, notification.Key, notification.AtMs, notification.Repeat));
    }

    [Fact]
    public void The_current_state_of_an_alert_has_the_key_its_original_step_had()
    {
        Assert.Equal(AlertDeliveryRules.Of(new AlertStep(AlertEvent.Raised, 1000, Active)).Key, AlertDeliveryRules.CurrentStateOf(Active).Key);
        var ack = AlertDeliveryRules.CurrentStateOf(Acknowledged);
        Assert.Equal((AlertNotificationKind.Acknowledged, "s1/hot/1000/acknowledged/2000"), (ack.Kind, ack.Key));
    }

    [Fact]
    public void Retry_delays_double_from_one_second_up_to_the_maximum_with_jitter_between_half_and_all()
    {
        var max = TimeSpan.FromSeconds(30);
        double[] upper = [1, 2, 4, 8, 16, 30, 30, 30];
        for (var attempt = 1; attempt <= upper.Length; attempt++)
        {
            Assert.Equal(upper[attempt - 1], AlertDeliveryRules.RetryDelay(attempt, max, 0.999999).TotalSeconds, 3);
            Assert.Equal(upper[attempt - 1] / 2, AlertDeliveryRules.RetryDelay(attempt, max, 0).TotalSeconds, 3);
        }

        // Far beyond any exponent that fits: still the cap, never an overflow.
        Assert.Equal(max.TotalSeconds, AlertDeliveryRules.RetryDelay(int.MaxValue, max, 0.999999999999).TotalSeconds, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => AlertDeliveryRules.RetryDelay(0, max, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => AlertDeliveryRules.RetryDelay(1, max, 1));
    }

    [Fact]
    public void Too_old_means_strictly_more_than_the_maximum_age_since_taken()
    {
        var day = TimeSpan.FromDays(1);
        Assert.False(AlertDeliveryRules.IsTooOld(0, (long)day.TotalMilliseconds, day));
        Assert.True(AlertDeliveryRules.IsTooOld(0, (long)day.TotalMilliseconds + 1, day));
    }

    [Fact]
    public void A_webhook_takes_its_events_at_its_severity_renotifications_like_raises_and_escalations_always()
    {
        var hook = new WebhookOptions { MinSeverity = AlertSeverity.Warning, Events = [AlertEvent.Cleared] };
        Assert.True(hook.Wants(AlertSeverity.Critical, AlertNotificationKind.Cleared));
        Assert.False(hook.Wants(AlertSeverity.Info, AlertNotificationKind.Cleared));
        Assert.False(hook.Wants(AlertSeverity.Warning, AlertNotificationKind.Raised));
        Assert.False(hook.Wants(AlertSeverity.Warning, AlertNotificationKind.Renotified));
        Assert.True(hook.Wants(AlertSeverity.Warning, AlertNotificationKind.Escalated));
        Assert.False(hook.Wants(AlertSeverity.Info, AlertNotificationKind.Escalated));

        var all = new WebhookOptions();
        Assert.All(Enum.GetValues<AlertNotificationKind>(), kind => Assert.True(all.Wants(AlertSeverity.Info, kind)));
    }

    [Fact]
    public void The_options_check_names_each_bad_key()
    {
        var options = new AlertOptions
        {
            Webhooks =
            [
                new WebhookOptions { Name = "ok", Url = new Uri("https://ops.example/hook") },
                new WebhookOptions { Name = "no url" },
                new WebhookOptions { Name = "ftp", Url = new Uri("ftp://ops.example/"), MaxAttempts = -1, MaxAge = TimeSpan.Zero },
            ],
        };
        var problems = AlertOptionsRules.Problems(options);
        Assert.Contains(problems, p => p.StartsWith("Alerts:Webhooks:1:Url is required", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Alerts:Webhooks:1:Name", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Alerts:Webhooks:2:Url must be an http or https URL", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Alerts:Webhooks:2:MaxAttempts", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Alerts:Webhooks:2: Timeout, MaxDelay and MaxAge", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Contains(":0", StringComparison.Ordinal));
    }

    [Fact]
    public void Destination_names_must_be_unique()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new AlertDestinations(
        [
            new WebhookDestination(new WebhookOptions { Name = "a", Url = new Uri("http://127.0.0.1/") }, null!),
            new WebhookDestination(new WebhookOptions { Name = "a", Url = new Uri("http://127.0.0.1/") }, null!),
        ]));
        Assert.Contains("'a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_notification_payload_is_the_step_json_with_key_kind_and_repeat_while_the_mqtt_payload_has_none()
    {
        var renotified = new AlertNotification("s1/hot/1000/renotified/5000", AlertNotificationKind.Renotified, 5000, Active, 2);
        var body = JsonDocument.Parse(AlertPayload.Serialize(renotified)).RootElement;
        Assert.Equal(("raised", "s1/hot/1000/renotified/5000", "renotified", 2, "s1/hot/1000"),
            (body.GetProperty("event").GetString(), body.GetProperty("key").GetString(), body.GetProperty("kind").GetString(), body.GetProperty("repeat").GetInt32(), body.GetProperty("id").GetString()));

        var step = JsonDocument.Parse(AlertPayload.Serialize(new AlertStep(AlertEvent.Raised, 1000, Active))).RootElement;
        Assert.False(step.TryGetProperty("key", out _));
        Assert.False(step.TryGetProperty("kind", out _));
        Assert.False(step.TryGetProperty("repeat", out _));
    }
}
