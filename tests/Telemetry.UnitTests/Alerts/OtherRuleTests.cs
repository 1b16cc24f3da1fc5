using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using static Telemetry.UnitTests.Alerts.AlertTestKit;

namespace Telemetry.UnitTests.Alerts;

public class FaultCodeRuleTests
{
    static readonly FaultCodeRule Fault = new("freezer-fault", AlertSeverity.Critical);

    [Fact]
    public void Non_zero_raises_naming_the_code_another_code_updates_and_zero_clears()
    {
        var engine = Engine([Fault]);
        Assert.Empty(engine.Feed(T0, 0, "fault"));
        var raised = Assert.Single(engine.Feed(T0 + Sec(30), 17, "fault"));
        Assert.Equal(AlertEvent.Raised, raised.Event);
        Assert.Equal("fault code 17", raised.Alert.Message);
        Assert.Equal(17, raised.Alert.Value);

        Assert.Empty(engine.Feed(T0 + Sec(60), 17, "fault"));
        Assert.Empty(engine.Feed(T0 + Sec(90), 23, "fault"));
        var active = Assert.Single(engine.Active);
        Assert.Equal(raised.Alert.Id, active.Id);
        Assert.Equal(23, active.Value);
        Assert.Equal("fault code 23", active.Message);

        var cleared = Assert.Single(engine.Feed(T0 + Sec(120), 0, "fault"));
        Assert.Equal(AlertEvent.Cleared, cleared.Event);
        Assert.Equal(23, cleared.Alert.Value);
        Assert.Empty(engine.Active);
    }

    [Fact]
    public void A_fault_rule_watching_another_metric_ignores_the_default_one()
    {
        var engine = Engine([Fault with { Metric = "hood_fault" }]);
        Assert.Empty(engine.Feed(T0, 5, "fault"));
        Assert.Equal("hood_fault reports fault code 5", Assert.Single(engine.Feed(T0 + 1, 5, "hood_fault")).Alert.Message);
    }
}

public class StuckRuleTests
{
    static readonly StuckRule TempStuck = new("temp-stuck", AlertSeverity.Warning, "temperature", TimeSpan.FromHours(2), Tolerance: 0.01);

    [Fact]
    public void Raises_when_the_value_stays_within_tolerance_of_the_runs_first_value_for_For_and_clears_on_a_change()
    {
        var engine = Engine([TempStuck]);
        var minute = Min(1);
        var transitions = new List<AlertTransition>();
        // Drifts within 0.01 of 21.0 for three readings, then a new run starts at 21.02 (minute 3).
        transitions.AddRange(engine.FeedEvery(T0, minute, 21.0, 21.004, 21.008, 21.02));
        for (var i = 4; i <= 122; i++)
        {
            transitions.AddRange(engine.Feed(T0 + (i * minute), 21.02));
        }
        Assert.Empty(transitions); // the run is 119 minutes long
        var raised = Assert.Single(engine.Feed(T0 + (123 * minute), 21.025));
        Assert.Equal("temperature stuck at 21.025 °C for 2h", raised.Alert.Message);
        Assert.Equal(T0 + (123 * minute), raised.Alert.RaisedAtMs);

        Assert.Empty(engine.Feed(T0 + (124 * minute), 21.029));
        var cleared = Assert.Single(engine.Feed(T0 + (125 * minute), 21.5));
        Assert.Equal(AlertEvent.Cleared, cleared.Event);
        Assert.Equal(T0 + (125 * minute), cleared.Alert.ClearedAtMs);
    }

    [Fact]
    public void A_single_reading_is_never_stuck()
    {
        var engine = Engine([TempStuck with { For = TimeSpan.FromMilliseconds(1) }]);
        Assert.Empty(engine.Feed(T0, 20));
        Assert.Single(engine.Feed(T0 + Min(1), 20));
    }
}

public class RateOfChangeRuleTests
{
    static readonly RateOfChangeRule Rate = new("temp-jump", AlertSeverity.Warning, "temperature", RatePerMinute: 2,
        ClearFor: TimeSpan.FromMinutes(2));

    [Fact]
    public void Raises_on_a_fast_change_between_consecutive_readings_and_clears_after_ClearFor_below()
    {
        var engine = Engine([Rate]);
        // 1 °C per 30 s = exactly 2 /min: not above the limit.
        Assert.Empty(engine.FeedEvery(T0, Sec(30), -20, -19, -18));
        var raised = Assert.Single(engine.Feed(T0 + Sec(90), -16.5)); // 1.5 in 30 s = 3 /min
        Assert.Equal(3, raised.Alert.Value, 9);
        Assert.Equal("temperature rising 3 °C/min, limit 2/min", raised.Alert.Message);

        Assert.Empty(engine.FeedEvery(T0 + Sec(120), Sec(30), -16.5, -16.5, -16.5, -16.5));
        Assert.Single(engine.Active);
        // Slow since the step ending at T0+120s: cleared two minutes later.
        var cleared = Assert.Single(engine.Feed(T0 + Sec(240), -16.5));
        Assert.Equal(AlertEvent.Cleared, cleared.Event);
    }

    [Fact]
    public void With_For_the_rate_must_stay_high_over_consecutive_steps()
    {
        var engine = Engine([Rate with { For = TimeSpan.FromMinutes(1) }]);
        Assert.Empty(engine.FeedEvery(T0, Sec(30), 0, -5, -5, -10)); // two separate falls
        // Falling since the reading at T0+60s (the step to T0+90s): the step ending at T0+120s makes one minute.
        var raised = Assert.Single(engine.Feed(T0 + Sec(120), -15));
        Assert.Equal(-10, raised.Alert.Value, 9);
        Assert.StartsWith("temperature falling 10 °C/min", raised.Alert.Message, StringComparison.Ordinal);
    }
}

public class LateReadingTests
{
    [Fact]
    public void Readings_older_than_the_newest_evaluated_are_ignored_and_counted()
    {
        var engine = Engine([FreezerWarm(TimeSpan.FromMinutes(1))]);
        Assert.Empty(engine.Feed(T0 + Min(10), -10));
        // A late cold reading must not break the warm run; a late duplicate neither.
        Assert.Empty(engine.OnReading(At(T0 + Min(9), -30), T0 + Min(10.2)));
        Assert.Empty(engine.OnReading(At(T0 + Min(10), -30), T0 + Min(10.3)));
        Assert.Equal(2, engine.LateValuesIgnored);

        var raised = Assert.Single(engine.Feed(T0 + Min(11), -10));
        Assert.Equal(T0 + Min(11), raised.Alert.RaisedAtMs);

        // Out of order inside a batch: the older one is ignored, so it cannot clear.
        Assert.Empty(engine.OnReading(At(T0 + Min(13), -10), T0 + Min(13)));
        Assert.Empty(engine.OnReading(At(T0 + Min(12), -30), T0 + Min(13)));
        Assert.Single(engine.Active);
        Assert.Equal(3, engine.LateValuesIgnored);
    }

    [Fact]
    public void Order_is_kept_per_metric_and_unwatched_metrics_are_not_counted()
    {
        var fault = new FaultCodeRule("freezer-fault", AlertSeverity.Critical);
        var engine = Engine([FreezerWarm(TimeSpan.Zero), fault]);
        Assert.Empty(engine.Feed(T0 + Min(5), -20));
        // Older temperature, but the first fault value and an unwatched metric: fault is evaluated.
        var reading = new Reading(T0 + Min(4), [new Metric("temperature", -5), new Metric("fault", 9), new Metric("rssi", -70)]);
        var raised = Assert.Single(engine.OnReading(reading, T0 + Min(5)));
        Assert.Equal("freezer-fault", raised.Alert.Rule);
        Assert.Equal(1, engine.LateValuesIgnored);
    }

    [Fact]
    public void A_late_reading_still_proves_the_device_is_alive()
    {
        var engine = Engine([FreezerWarm(), Offline()]);
        Assert.Empty(engine.Feed(T0 + Sec(30), -20));
        Assert.Empty(engine.OnReading(At(T0, -20), T0 + Sec(70)));
        Assert.Equal(T0 + Sec(70), engine.LastSeenMs);
        Assert.Empty(engine.OnTick(T0 + Sec(110))); // 40 s since the late message, 80 s since the newest reading
        Assert.Single(engine.OnTick(T0 + Sec(116)));
    }
}
