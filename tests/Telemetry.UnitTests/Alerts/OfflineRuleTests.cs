using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using static Telemetry.UnitTests.Alerts.AlertTestKit;

namespace Telemetry.UnitTests.Alerts;

public class OfflineRuleTests
{
    static readonly long IntervalMs = (long)Interval.TotalMilliseconds;

    /// <summary>Runs a device and ticks in time order until <paramref name="untilMs"/>.</summary>
    static List<AlertTransition> Run(SensorAlertEngine engine, IEnumerable<long> messageTimes, long tickEveryMs, long untilMs)
    {
        var transitions = new List<AlertTransition>();
        using var messages = messageTimes.GetEnumerator();
        var nextMessage = messages.MoveNext() ? messages.Current : long.MaxValue;
        for (var tick = T0 + tickEveryMs; tick <= untilMs; tick += tickEveryMs)
        {
            while (nextMessage <= tick)
            {
                transitions.AddRange(engine.OnReading(At(nextMessage, -20), nextMessage));
                nextMessage = messages.MoveNext() ? messages.Current : long.MaxValue;
            }
            transitions.AddRange(engine.OnTick(tick));
        }
        return transitions;
    }

    static IEnumerable<long> Jittered(int seed, int count, double jitter)
    {
        var random = new Random(seed);
        var t = T0;
        for (var i = 0; i < count; i++)
        {
            t += (long)(IntervalMs * (1 + (jitter * ((2 * random.NextDouble()) - 1))));
            yield return t;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_device_with_40_percent_jitter_never_goes_offline_over_1000_intervals(int seed)
    {
        var engine = Engine([Offline()]);
        var times = Jittered(seed, 1000, 0.4).ToList();
        // Ticks at a quarter interval and at an odd period, so a tick lands just before many messages.
        Assert.Empty(Run(engine, times, IntervalMs / 4, times[^1]));
        var engine2 = Engine([Offline()]);
        Assert.Empty(Run(engine2, times, 1_999, times[^1]));
    }

    [Fact]
    public void The_worst_jitter_stays_online_and_one_millisecond_more_than_the_limit_is_offline()
    {
        var engine = Engine([Offline()]);
        Assert.Empty(engine.Feed(T0, -20));
        Assert.Empty(engine.OnTick(T0 + Sec(42))); // a 1.4-interval gap
        Assert.Empty(engine.OnTick(T0 + Sec(45))); // exactly 1.5 intervals: not yet
        Assert.Single(engine.OnTick(T0 + Sec(45) + 1));
    }

    [Fact]
    public void A_stopped_device_goes_offline_within_two_intervals_and_data_clears_it()
    {
        var engine = Engine([Offline()]);
        var messages = Enumerable.Range(1, 50).Select(i => T0 + (i * IntervalMs)).ToList();
        var stoppedAt = messages[^1];
        var transitions = Run(engine, messages, IntervalMs / 4, stoppedAt + (10 * IntervalMs));
        var raised = Assert.Single(transitions);
        Assert.Equal(AlertEvent.Raised, raised.Event);
        Assert.InRange(raised.Alert.RaisedAtMs - stoppedAt, (long)(1.5 * IntervalMs) + 1, (2 * IntervalMs) - 1);
        Assert.Equal(AlertRuleType.Offline, raised.Alert.RuleType);
        Assert.Equal("no data for 52.5s (expected every 30s)", raised.Alert.Message);
        Assert.Equal(52.5, raised.Alert.Value);

        var back = stoppedAt + (11 * IntervalMs);
        var cleared = Assert.Single(engine.Feed(back, -20));
        Assert.Equal(AlertEvent.Cleared, cleared.Event);
        Assert.Equal(back, cleared.Alert.ClearedAtMs);
        Assert.Equal(raised.Alert.Id, cleared.Alert.Id);
    }

    [Fact]
    public void A_registered_device_that_never_reports_goes_offline_from_engine_creation()
    {
        var engine = Engine([Offline()], createdAtMs: T0);
        var transitions = Run(engine, [], IntervalMs / 4, T0 + (3 * IntervalMs));
        var raised = Assert.Single(transitions);
        Assert.Equal(T0 + (7 * IntervalMs / 4), raised.Alert.RaisedAtMs);
    }

    [Fact]
    public void Disconnect_without_reconnect_within_grace_is_offline_before_the_interval_limit()
    {
        var engine = Engine([Offline(intervals: 10, grace: TimeSpan.FromSeconds(60))]);
        Assert.Empty(engine.Feed(T0, -20));
        engine.OnDisconnected(T0 + Sec(5));
        Assert.Empty(engine.OnTick(T0 + Sec(65)));
        var raised = Assert.Single(engine.OnTick(T0 + Sec(66)));
        Assert.Equal("disconnected for 1m1s without reconnecting", raised.Alert.Message);
        // Reconnecting alone does not clear; data does.
        engine.OnConnected(T0 + Sec(70));
        Assert.Empty(engine.OnTick(T0 + Sec(75)));
        Assert.Single(engine.Active);
        Assert.Equal(AlertEvent.Cleared, Assert.Single(engine.Feed(T0 + Sec(80), -20)).Event);
    }

    [Fact]
    public void Reconnect_or_a_message_within_grace_means_no_alert()
    {
        var engine = Engine([Offline(intervals: 10, grace: TimeSpan.FromSeconds(60))]);
        Assert.Empty(engine.Feed(T0, -20));
        engine.OnDisconnected(T0 + Sec(5));
        engine.OnConnected(T0 + Sec(50));
        Assert.Empty(Run(engine, [], Sec(7.5), T0 + Sec(299)));

        Assert.Empty(engine.Feed(T0 + Sec(290), -20));
        engine.OnDisconnected(T0 + Sec(295));
        Assert.Empty(engine.Feed(T0 + Sec(330), -20)); // a message (new session) within grace
        Assert.Empty(engine.OnTick(T0 + Sec(400)));
        Assert.Empty(engine.Active);
    }

    [Fact]
    public void Grace_defaults_to_one_interval()
    {
        var engine = Engine([Offline(intervals: 10)]);
        Assert.Empty(engine.Feed(T0, -20));
        engine.OnDisconnected(T0);
        Assert.Empty(engine.OnTick(T0 + IntervalMs));
        Assert.Single(engine.OnTick(T0 + IntervalMs + 1));
    }

    [Fact]
    public void A_service_restart_restarts_the_offline_clock_on_request()
    {
        var engine = Engine([Offline()]);
        Assert.Empty(engine.Feed(T0, -20));
        var restored = Engine([Offline()], engine.State, createdAtMs: T0 + Min(60));
        restored.ResetOfflineClock(T0 + Min(60));
        Assert.Empty(restored.OnTick(T0 + Min(60) + Sec(45)));
        Assert.Single(restored.OnTick(T0 + Min(60) + Sec(46)));
    }
}
