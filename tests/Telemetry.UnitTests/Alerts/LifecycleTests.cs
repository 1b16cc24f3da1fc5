using Telemetry.Contracts;
using System.Text.Json;
using System.Text.Json.Serialization;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using static Telemetry.UnitTests.Alerts.AlertTestKit;

namespace Telemetry.UnitTests.Alerts;

public class LifecycleTests
{
    static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    [Fact]
    public void An_acknowledged_alert_still_clears_automatically()
    {
        var engine = Engine([FreezerWarm(TimeSpan.Zero)]);
        var raised = Assert.Single(engine.Feed(T0, -10)).Alert;

        var ack = engine.Acknowledge(raised.Id, "ana", "door was open", T0 + Sec(10));
        Assert.True(ack.Succeeded);
        Assert.Equal(AlertEvent.Acknowledged, ack.Transition!.Event);
        Assert.Equal(AlertState.Acknowledged, ack.Transition.Alert.State);
        Assert.Equal("ana", ack.Transition.Alert.AcknowledgedBy);
        Assert.Equal("door was open", ack.Transition.Alert.AcknowledgedNote);
        Assert.Equal(T0 + Sec(10), ack.Transition.Alert.AcknowledgedAtMs);
        Assert.Equal(AlertState.Acknowledged, Assert.Single(engine.Active).State);

        var again = engine.Acknowledge(raised.Id, "bob", null, T0 + Sec(20));
        Assert.Equal(AlertActionError.AlreadyAcknowledged, again.Error);
        Assert.Null(again.Transition);

        var cleared = Assert.Single(engine.Feed(T0 + Sec(30), -20));
        Assert.Equal(AlertEvent.Cleared, cleared.Event);
        Assert.Equal(Alert.ClearedByAuto, cleared.Alert.ClearedBy);
        Assert.Equal("ana", cleared.Alert.AcknowledgedBy);

        var late = engine.Acknowledge(raised.Id, "bob", null, T0 + Sec(40));
        Assert.Equal(AlertActionError.AlreadyCleared, late.Error);
        Assert.Contains(raised.Id, late.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(AlertActionError.AlreadyCleared, engine.Clear(raised.Id, "bob", T0 + Sec(40)).Error);
        Assert.Equal(AlertActionError.UnknownAlert, engine.Acknowledge("nope", "bob", null, T0).Error);
        Assert.Equal(AlertActionError.UnknownAlert, engine.Clear("nope", "bob", T0).Error);
        Assert.Equal(AlertActionError.InvalidArgument, engine.Clear(raised.Id, " ", T0).Error);
    }

    [Fact]
    public void After_a_manual_clear_the_rule_waits_for_the_condition_to_end_and_start_again()
    {
        var engine = Engine([FreezerWarm(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1))]);
        var raised = Assert.Single(engine.FeedEvery(T0, Sec(30), -10, -10, -10)).Alert;

        var clear = engine.Clear(raised.Id, "ana", T0 + Sec(70));
        Assert.True(clear.Succeeded);
        Assert.Equal(AlertEvent.Cleared, clear.Transition!.Event);
        Assert.Equal("ana", clear.Transition.Alert.ClearedBy);
        Assert.Equal(T0 + Sec(70), clear.Transition.Alert.ClearedAtMs);
        Assert.Empty(engine.Active);

        // Still warm for a long time: latched, no new raise.
        Assert.Empty(engine.FeedEvery(T0 + Sec(90), Sec(30), [.. Enumerable.Repeat(-10.0, 40)]));
        var t = T0 + Sec(90) + (40 * Sec(30));
        // Cold, but shorter than ClearFor, then warm again: the condition has not ended.
        Assert.Empty(engine.FeedEvery(t, Sec(30), -20, -20, -10, -10, -10, -10));
        t += 6 * Sec(30);
        // Cold for a full ClearFor: the condition ended (silently, nothing to clear).
        Assert.Empty(engine.FeedEvery(t, Sec(30), -20, -20, -20));
        t += 3 * Sec(30);
        // A new episode raises again after For.
        Assert.Empty(engine.FeedEvery(t, Sec(30), -10, -10));
        var again = Assert.Single(engine.Feed(t + Sec(60), -10));
        Assert.Equal(AlertEvent.Raised, again.Event);
        Assert.NotEqual(raised.Id, again.Alert.Id);
    }

    [Fact]
    public void A_manually_cleared_offline_alert_does_not_return_until_the_device_came_back()
    {
        var engine = Engine([Offline()]);
        var raised = Assert.Single(engine.OnTick(T0 + Sec(46))).Alert;
        Assert.True(engine.Clear(raised.Id, "ana", T0 + Sec(50)).Succeeded);
        for (var t = T0 + Sec(60); t < T0 + Min(30); t += Sec(7.5))
        {
            Assert.Empty(engine.OnTick(t));
        }
        Assert.Empty(engine.Feed(T0 + Min(30), -20));
        Assert.Single(engine.OnTick(T0 + Min(30) + Sec(46)));
    }

    [Fact]
    public void A_flapping_condition_gives_three_raises_the_last_flagged_and_then_one_clear_after_the_window()
    {
        var engine = Engine([FreezerWarm(TimeSpan.Zero)]);
        var transitions = new List<AlertTransition>();
        var t = T0;
        // Warm and cold every minute for an hour.
        for (var i = 0; i < 60; i++, t += Min(1))
        {
            transitions.AddRange(engine.Feed(t, i % 2 == 0 ? -10 : -20));
        }
        Assert.Equal(
            [AlertEvent.Raised, AlertEvent.Cleared, AlertEvent.Raised, AlertEvent.Cleared, AlertEvent.Raised],
            transitions.Select(x => x.Event));
        var flapping = transitions[^1].Alert;
        Assert.True(flapping.Flapping);
        Assert.Equal(3, flapping.RaiseCount);
        Assert.False(transitions[0].Alert.Flapping);
        Assert.False(transitions[2].Alert.Flapping);
        Assert.True(Assert.Single(engine.Active).RaiseCount > 20); // re-triggers absorbed, not notified

        // The last warm reading was at minute 58; the alert clears once cold for the whole 15-minute window.
        var lastWarm = T0 + Min(58);
        for (; t < lastWarm + Min(15); t += Min(1))
        {
            Assert.Empty(engine.Feed(t, -20));
        }
        // Cold since minute 59: the window is over at minute 74.
        var cleared = Assert.Single(engine.Feed(T0 + Min(74), -20));
        Assert.Equal(AlertEvent.Cleared, cleared.Event);
        Assert.Equal(flapping.Id, cleared.Alert.Id);

        // Afterwards the old raises are outside the window: a new raise is not flapping.
        var next = Assert.Single(engine.Feed(T0 + Min(80), -10));
        Assert.False(next.Alert.Flapping);
        Assert.Equal(1, next.Alert.RaiseCount);
    }

    [Fact]
    public void Raises_spread_wider_than_the_window_are_not_flapping()
    {
        var engine = Engine([FreezerWarm(TimeSpan.Zero)], options: new AlertEngineOptions { FlapWindow = TimeSpan.FromMinutes(10) });
        var raises = new List<Alert>();
        for (var i = 0; i < 10; i++)
        {
            var start = T0 + (i * Min(6));
            raises.AddRange(engine.Feed(start, -10).Select(x => x.Alert));
            Assert.Single(engine.Feed(start + Min(1), -20));
        }
        Assert.Equal(10, raises.Count);
        Assert.All(raises, a => Assert.False(a.Flapping));
    }

    [Fact]
    public void Rule_reload_keeps_state_by_id_and_clears_alerts_of_removed_rules()
    {
        var fault = new FaultCodeRule("freezer-fault", AlertSeverity.Critical);
        var engine = Engine([FreezerWarm(), fault]);
        Assert.Single(engine.Feed(T0, 4, "fault"));
        Assert.Empty(engine.FeedEvery(T0, Sec(30), -10, -10, -10)); // warm for 1 minute of 5

        var stricter = FreezerWarm() with { Above = -12, Severity = AlertSeverity.Warning };
        var transitions = engine.UpdateRules(Rules(stricter), T0 + Min(2));
        var removed = Assert.Single(transitions);
        Assert.Equal(AlertEvent.Cleared, removed.Event);
        Assert.Equal("freezer-fault", removed.Alert.Rule);
        Assert.Equal(Alert.ClearedByRuleRemoved, removed.Alert.ClearedBy);
        Assert.Equal(T0 + Min(2), removed.Alert.ClearedAtMs);
        Assert.Empty(engine.Active);
        Assert.Equal(["freezer-warm"], engine.Rules.Select(r => r.Id));

        // The pending run of freezer-warm survived the reload and is judged by the new limit.
        Assert.Empty(engine.FeedEvery(T0 + Sec(90), Sec(30), -10, -10, -10, -10, -10, -10));
        var raised = Assert.Single(engine.Feed(T0 + Min(5), -10));
        Assert.Equal(AlertSeverity.Warning, raised.Alert.Severity);
        Assert.Contains("above -12", raised.Alert.Message, StringComparison.Ordinal);

        // A kept rule keeps its open alert; no new notification.
        Assert.Empty(engine.UpdateRules(Rules(stricter, fault), T0 + Min(6)));
        Assert.Equal(raised.Alert.Id, Assert.Single(engine.Active).Id);
        // The same id with another type is a different rule.
        var changed = engine.UpdateRules(
            Rules(new StuckRule("freezer-warm", AlertSeverity.Info, "temperature", TimeSpan.FromHours(1))), T0 + Min(7));
        Assert.Equal(Alert.ClearedByRuleChanged, Assert.Single(changed).Alert.ClearedBy);
    }

    [Fact]
    public void State_round_trips_through_json_in_the_middle_of_a_pending_For_and_the_restored_engine_raises_on_time()
    {
        var fault = new FaultCodeRule("freezer-fault", AlertSeverity.Critical);
        AlertRule[] rules = [FreezerWarm(), fault, Offline()];
        var engine = Engine(rules);
        Assert.Single(engine.Feed(T0, 3, "fault"));
        Assert.True(engine.Acknowledge(engine.Active[0].Id, "ana", "on it", T0 + 1).Succeeded);
        Assert.Empty(engine.FeedEvery(T0, Sec(30), -10, -10, -10, -10, -10)); // warm since T0, 2 minutes
        Assert.Empty(engine.OnReading(At(T0 - Sec(30), -30), T0 + Sec(125))); // one late value

        var json = JsonSerializer.Serialize(engine.State, Json);
        var state = JsonSerializer.Deserialize<AlertEngineState>(json, Json)!;
        Assert.Equal(json, JsonSerializer.Serialize(state, Json));
        Assert.Contains("\"Acknowledged\"", json, StringComparison.Ordinal);

        var restored = Engine(rules, state, createdAtMs: T0 + Sec(130));
        Assert.Equal(1, restored.LateValuesIgnored);
        Assert.Equal(AlertState.Acknowledged, Assert.Single(restored.Active).State);
        Assert.Empty(restored.FeedEvery(T0 + Sec(150), Sec(30), -10, -10, -10, -10, -10));
        var raised = Assert.Single(restored.Feed(T0 + Min(5), -10));
        Assert.Equal(T0 + Min(5), raised.Alert.RaisedAtMs);
        Assert.Equal(2, restored.Active.Count);
        // Late values stay ignored after the restore, and the offline clock continued.
        Assert.Empty(restored.OnReading(At(T0 + Sec(60), -30), T0 + Min(5)));
        Assert.Equal(2, restored.LateValuesIgnored);
        Assert.Single(restored.OnTick(T0 + Min(5) + Sec(46)));
    }

    [Fact]
    public void A_restored_alert_of_a_rule_that_no_longer_exists_is_cleared_on_the_next_call()
    {
        var engine = Engine([FreezerWarm(TimeSpan.Zero)]);
        var raised = Assert.Single(engine.Feed(T0, -10)).Alert;
        var restored = Engine([Offline()], engine.State);
        Assert.Single(restored.Active);
        var cleared = Assert.Single(restored.OnTick(T0 + Sec(10)));
        Assert.Equal(raised.Id, cleared.Alert.Id);
        Assert.Equal(Alert.ClearedByRuleRemoved, cleared.Alert.ClearedBy);
        Assert.Empty(restored.Active);
        Assert.Throws<ArgumentException>(() => new SensorAlertEngine(
            "other-sensor", Rules(FreezerWarm()), engine.State, AlertEngineOptions.Default, T0));
    }
}
