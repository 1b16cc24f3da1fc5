using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using static Telemetry.UnitTests.Alerts.AlertTestKit;

namespace Telemetry.UnitTests.Alerts;

public class ThresholdRuleTests
{
    [Fact]
    public void Raises_once_the_condition_held_for_For_with_a_readable_message()
    {
        var engine = Engine([FreezerWarm()]);
        var step = Sec(30);
        // 10 readings above -15: 0s … 270s held, not yet 5 minutes.
        var early = engine.FeedEvery(T0, step, [.. Enumerable.Repeat(-9.5, 10)]);
        Assert.Empty(early);

        var raised = Assert.Single(engine.Feed(T0 + Min(5), -9.5));
        Assert.Equal(AlertEvent.Raised, raised.Event);
        var alert = raised.Alert;
        Assert.Equal($"{SensorId}/freezer-warm/{T0 + Min(5)}", alert.Id);
        Assert.Equal(AlertState.Active, alert.State);
        Assert.Equal(AlertSeverity.Critical, alert.Severity);
        Assert.Equal(AlertRuleType.Threshold, alert.RuleType);
        Assert.Equal(-9.5, alert.Value);
        Assert.Equal("temperature -9.5 °C above -15 for 5m", alert.Message);
        Assert.False(alert.Flapping);
        Assert.Equal(1, alert.RaiseCount);

        // Still warm: no repeated notification, the one alert stays active.
        Assert.Empty(engine.FeedEvery(T0 + Min(5.5), step, -8, -7, -6, -5));
        Assert.Equal(alert.Id, Assert.Single(engine.Active).Id);
    }

    [Fact]
    public void Short_spikes_shorter_than_For_do_not_raise()
    {
        var engine = Engine([FreezerWarm()]);
        var transitions = new List<AlertTransition>();
        var t = T0;
        for (var cycle = 0; cycle < 20; cycle++)
        {
            // 4 minutes warm, then one cold reading breaks the run.
            for (var i = 0; i < 9; i++, t += Sec(30))
            {
                transitions.AddRange(engine.Feed(t, -10));
            }
            transitions.AddRange(engine.Feed(t, -20));
            t += Sec(30);
        }
        Assert.Empty(transitions);
        Assert.Empty(engine.Active);
    }

    [Fact]
    public void A_reading_in_the_hysteresis_band_breaks_a_pending_raise()
    {
        var engine = Engine([FreezerWarm(TimeSpan.FromMinutes(1))]);
        Assert.Empty(engine.FeedEvery(T0, Sec(30), -10, -10, -16, -10, -10));
        Assert.Single(engine.Feed(T0 + Sec(150), -10));
    }

    [Fact]
    public void For_zero_raises_on_the_first_reading()
    {
        var engine = Engine([FreezerWarm(TimeSpan.Zero)]);
        var raised = Assert.Single(engine.Feed(T0, -14.9));
        Assert.Equal(AlertEvent.Raised, raised.Event);
        Assert.Equal("temperature -14.9 °C above -15", raised.Alert.Message);
    }

    [Fact]
    public void Values_oscillating_inside_the_hysteresis_band_do_not_clear()
    {
        var engine = Engine([FreezerWarm(TimeSpan.Zero)]);
        Assert.Single(engine.Feed(T0, -10));
        // Band is (-17, -15]: below the threshold but not past threshold - hysteresis.
        var inBand = engine.FeedEvery(T0 + Sec(30), Sec(30), [.. Enumerable.Range(0, 200).Select(i => i % 2 == 0 ? -16.9 : -15.0)]);
        Assert.Empty(inBand);
        Assert.Single(engine.Active);

        var cleared = Assert.Single(engine.Feed(T0 + Min(200), -17));
        Assert.Equal(AlertEvent.Cleared, cleared.Event);
        Assert.Equal(AlertState.Cleared, cleared.Alert.State);
        Assert.Equal(Alert.ClearedByAuto, cleared.Alert.ClearedBy);
        Assert.Equal(T0 + Min(200), cleared.Alert.ClearedAtMs);
        Assert.Empty(engine.Active);
    }

    [Fact]
    public void Clear_waits_for_ClearFor_continuously_and_a_warm_reading_restarts_the_wait()
    {
        var engine = Engine([FreezerWarm(TimeSpan.Zero, TimeSpan.FromMinutes(1))]);
        Assert.Single(engine.Feed(T0, -10));
        // Cold for 30 s, then in the band: the clear wait restarts.
        Assert.Empty(engine.FeedEvery(T0 + Sec(30), Sec(30), -20, -20, -16, -20, -20));
        Assert.Single(engine.Active);
        // Cold since T0+120s: one minute later it clears.
        var cleared = Assert.Single(engine.Feed(T0 + Sec(180), -20));
        Assert.Equal(AlertEvent.Cleared, cleared.Event);
        Assert.Equal(T0 + Sec(180), cleared.Alert.ClearedAtMs);
    }

    [Fact]
    public void ClearFor_defaults_to_For()
    {
        var engine = Engine([FreezerWarm(TimeSpan.FromMinutes(2))]);
        Assert.Single(engine.FeedEvery(T0, Sec(30), -10, -10, -10, -10, -10));
        Assert.Empty(engine.FeedEvery(T0 + Min(3), Sec(30), -20, -20, -20, -20));
        Assert.Single(engine.Feed(T0 + Min(5), -20));
    }

    [Fact]
    public void Below_threshold_raises_and_clears_above_threshold_plus_hysteresis()
    {
        var rule = new ThresholdRule("airflow-low", AlertSeverity.Critical, "airflow", Below: 0.4, Hysteresis: 0.05, For: TimeSpan.FromMinutes(2));
        var engine = Engine([rule]);
        Assert.Empty(engine.Feed(T0, 0.3, "airflow"));
        var raised = Assert.Single(engine.Feed(T0 + Min(2), 0.31, "airflow"));
        Assert.Equal("airflow 0.31 below 0.4 for 2m", raised.Alert.Message);
        Assert.Empty(engine.Feed(T0 + Min(3), 0.44, "airflow"));
        Assert.Empty(engine.Feed(T0 + Min(6), 0.45, "airflow"));
        Assert.Single(engine.Feed(T0 + Min(8), 0.5, "airflow"));
    }

    [Fact]
    public void The_rule_description_leads_the_message()
    {
        var engine = Engine([FreezerWarm(TimeSpan.Zero) with { Description = "Freezer is warming up" }]);
        Assert.Equal("Freezer is warming up: temperature -3 °C above -15", Assert.Single(engine.Feed(T0, -3)).Alert.Message);
    }
}
