using Telemetry.Contracts;
using Telemetry.Grains.Alerts;

namespace Telemetry.UnitTests.Alerts;

/// <summary>The alert index's numbered step log that nodes catch up from (<see cref="AlertStepLog"/>).</summary>
public class AlertStepLogTests
{
    static AlertStep Step(int n) => new(AlertEvent.Raised, n,
        new AlertInfo($"s{n}/hot/{n}", "b", "r", $"s{n}", "hot", AlertRuleType.Threshold, AlertSeverity.Warning, AlertState.Active, n, 60, "hot", null, null, null, null, null, false));

    static AlertStepLog LogOf(int steps)
    {
        var log = new AlertStepLog();
        for (var n = 1; n <= steps; n++)
        {
            log.Append(Step(n));
        }

        return log;
    }

    [Fact]
    public void Steps_are_numbered_from_one_consecutively()
    {
        var log = new AlertStepLog();
        Assert.Equal(0, log.LastSeq);
        Assert.Equal([1L, 2L, 3L], [log.Append(Step(1)).Seq, log.Append(Step(2)).Seq, log.Append(Step(3)).Seq]);
        Assert.Equal(3, log.LastSeq);
    }

    [Fact]
    public void After_returns_the_steps_after_the_callers_number_in_order()
    {
        var log = LogOf(5);
        Assert.Equal([3L, 4L, 5L], log.After(2, out var gap)!.Select(s => s.Seq));
        Assert.Null(gap);
        Assert.Equal("s3/hot/3", log.After(2, out _)![0].Step.Alert.Id);
        Assert.Empty(log.After(5, out gap)!);
        Assert.Null(gap);
        Assert.Equal(5, log.After(0, out _)!.Count);
    }

    [Fact]
    public void An_empty_log_has_nothing_after_zero()
    {
        Assert.Empty(new AlertStepLog().After(0, out var gap)!);
        Assert.Null(gap);
    }

    [Theory]
    [InlineData(-1, "first_subscription")]
    [InlineData(6, "index_behind")]
    public void A_caller_without_a_number_or_ahead_of_the_index_must_resync(long afterSeq, string reason)
    {
        Assert.Null(LogOf(5).After(afterSeq, out var gap));
        Assert.Equal(reason, gap);
    }

    [Fact]
    public void The_oldest_steps_fall_off_beyond_the_capacity_and_a_caller_behind_them_must_resync()
    {
        var extra = 7;
        var log = LogOf(AlertStepLog.Capacity + extra);
        Assert.Equal(AlertStepLog.Capacity, log.Steps.Count);
        Assert.Equal(extra + 1, log.Steps[0].Seq);

        // The oldest kept step is extra + 1: a caller that has seen extra gets all of them, one that has seen less does not.
        Assert.Equal(AlertStepLog.Capacity, log.After(extra, out var gap)!.Count);
        Assert.Null(gap);
        Assert.Null(log.After(extra - 1, out gap));
        Assert.Equal("log_truncated", gap);
    }

    [Fact]
    public void The_log_survives_the_state_files_json_round_trip()
    {
        var log = LogOf(3);
        var json = System.Text.Json.JsonSerializer.Serialize(new AlertIndexState { Log = log }, Telemetry.Grains.Persistence.DurableFileGrainStorage.JsonOptions);
        var back = System.Text.Json.JsonSerializer.Deserialize<AlertIndexState>(json, Telemetry.Grains.Persistence.DurableFileGrainStorage.JsonOptions)!.Log;
        Assert.Equal(3, back.LastSeq);
        Assert.Equal(log.Steps, back.Steps);
    }
}
