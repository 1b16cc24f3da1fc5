using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Grains.Alerts.Delivery;

namespace Telemetry.UnitTests.Alerts;

/// <summary>When an unacknowledged alert is sent again and escalated (<see cref="EscalationPlan"/>), and which policies start (<see cref="EscalationOptions.Problems"/>).</summary>
public class EscalationPlanTests
{
    const long Raised = 1_800_000_000_000;
    const long Minute = 60_000;

    static AlertInfo Alert(string id = "freezer-1/too-warm/1", AlertSeverity severity = AlertSeverity.Critical, AlertState state = AlertState.Active) =>
        new(id, "b12", "r101", "freezer-1", "too-warm", AlertRuleType.Threshold, severity, state,
            Raised, -12, "too warm", null, null, null, null, null, false);

    static EscalationPolicy Policy(int? renotifyMinutes = null, int? escalateMinutes = null, params string[] to) =>
        new(renotifyMinutes is { } r ? TimeSpan.FromMinutes(r) : null, escalateMinutes is { } e ? TimeSpan.FromMinutes(e) : null, to);

    [Fact]
    public void Without_a_policy_nothing_is_ever_due()
    {
        var due = EscalationPlan.Due(EscalationWatch.Of(Alert()), null, Raised + (100 * Minute));
        Assert.False(due.Any);
        Assert.Null(due.NextDueMs);

        // A policy that escalates to nobody does nothing either.
        Assert.True(Policy(escalateMinutes: 5).IsEmpty);
        Assert.Null(EscalationPlan.Due(EscalationWatch.Of(Alert()), Policy(escalateMinutes: 5), Raised + (100 * Minute)).NextDueMs);
    }

    [Fact]
    public void A_re_notification_falls_due_every_period_after_the_raise_numbered_from_one()
    {
        var policy = Policy(renotifyMinutes: 15);
        var watch = EscalationWatch.Of(Alert());

        var before = EscalationPlan.Due(watch, policy, Raised + (15 * Minute) - 1);
        Assert.False(before.Any);
        Assert.Equal(Raised + (15 * Minute), before.NextDueMs);

        var first = EscalationPlan.Due(watch, policy, Raised + (15 * Minute));
        Assert.Equal((Raised + (15 * Minute), 1), (first.RenotifyAtMs, first.Repeat));
        Assert.Equal(Raised + (30 * Minute), first.NextDueMs);
        Assert.Null(first.EscalateAtMs);

        // Sent: nothing again until the next period.
        Assert.False(EscalationPlan.Due(first.After, policy, Raised + (29 * Minute)).Any);
        var second = EscalationPlan.Due(first.After, policy, Raised + (31 * Minute));
        Assert.Equal((Raised + (30 * Minute), 2), (second.RenotifyAtMs, second.Repeat));
        Assert.Equal(Raised + (45 * Minute), second.NextDueMs);
    }

    [Fact]
    public void Periods_missed_while_nothing_ran_give_one_re_notification_at_the_newest_due_time()
    {
        var policy = Policy(renotifyMinutes: 15);

        var late = EscalationPlan.Due(EscalationWatch.Of(Alert()), policy, Raised + (50 * Minute));

        Assert.Equal((Raised + (45 * Minute), 1), (late.RenotifyAtMs, late.Repeat));
        Assert.Equal(Raised + (60 * Minute), late.NextDueMs);
    }

    [Fact]
    public void The_due_time_depends_on_the_watch_alone_so_a_repeated_round_gives_the_same_key()
    {
        var policy = Policy(renotifyMinutes: 15);
        var watch = EscalationWatch.Of(Alert());

        var a = EscalationPlan.Due(watch, policy, Raised + (15 * Minute) + 10);
        var b = EscalationPlan.Due(watch, policy, Raised + (15 * Minute) + 9_000);

        Assert.Equal(a.RenotifyAtMs, b.RenotifyAtMs);
        Assert.Equal(AlertNotification.KeyOf(watch.Alert, AlertNotificationKind.Renotified, a.RenotifyAtMs!.Value),
            AlertNotification.KeyOf(watch.Alert, AlertNotificationKind.Renotified, b.RenotifyAtMs!.Value));
    }

    [Fact]
    public void The_escalation_falls_due_once_after_its_delay()
    {
        var policy = Policy(escalateMinutes: 60, to: "on-call");
        var watch = EscalationWatch.Of(Alert());

        var before = EscalationPlan.Due(watch, policy, Raised + (59 * Minute));
        Assert.False(before.Any);
        Assert.Equal(Raised + (60 * Minute), before.NextDueMs);

        var escalated = EscalationPlan.Due(watch, policy, Raised + (61 * Minute));
        Assert.Equal(Raised + (60 * Minute), escalated.EscalateAtMs);
        Assert.Null(escalated.RenotifyAtMs);
        Assert.True(escalated.After.Escalated);
        Assert.Null(escalated.NextDueMs); // nothing more: the watch can go

        Assert.False(EscalationPlan.Due(escalated.After, policy, Raised + (600 * Minute)).Any);
    }

    [Fact]
    public void Re_notification_and_escalation_run_side_by_side_and_the_next_due_time_is_the_earlier()
    {
        var policy = Policy(renotifyMinutes: 15, escalateMinutes: 40, to: "on-call");
        var watch = EscalationWatch.Of(Alert());

        var at15 = EscalationPlan.Due(watch, policy, Raised + (15 * Minute));
        Assert.Equal(Raised + (30 * Minute), at15.NextDueMs);
        var at30 = EscalationPlan.Due(at15.After, policy, Raised + (30 * Minute));
        Assert.Equal(Raised + (40 * Minute), at30.NextDueMs);
        var at40 = EscalationPlan.Due(at30.After, policy, Raised + (40 * Minute));
        Assert.Equal((null, Raised + (40 * Minute)), (at40.RenotifyAtMs, at40.EscalateAtMs));
        Assert.Equal(Raised + (45 * Minute), at40.NextDueMs);

        // Due together: both in one round.
        var both = EscalationPlan.Due(watch, Policy(renotifyMinutes: 10, escalateMinutes: 10, to: "on-call"), Raised + (10 * Minute));
        Assert.Equal((Raised + (10 * Minute), Raised + (10 * Minute)), (both.RenotifyAtMs, both.EscalateAtMs));
        Assert.Equal(Raised + (20 * Minute), both.NextDueMs);
    }

    [Fact]
    public void A_raise_starts_a_watch_and_an_acknowledgement_or_clear_ends_it()
    {
        var watches = new Dictionary<string, EscalationWatch>();
        var critical = Alert("a/critical/1");
        var info = Alert("a/info/1", AlertSeverity.Info);
        EscalationPolicy? PolicyOf(AlertSeverity s) => s == AlertSeverity.Critical ? Policy(renotifyMinutes: 15) : null;

        EscalationPlan.Follow(watches, new AlertStep(AlertEvent.Raised, Raised, critical), PolicyOf);
        EscalationPlan.Follow(watches, new AlertStep(AlertEvent.Raised, Raised, info), PolicyOf);
        Assert.Equal(["a/critical/1"], watches.Keys);

        // A raise seen again (the log read twice) keeps what the watch has sent.
        watches["a/critical/1"] = watches["a/critical/1"] with { Repeats = 3 };
        EscalationPlan.Follow(watches, new AlertStep(AlertEvent.Raised, Raised, critical), PolicyOf);
        Assert.Equal(3, watches["a/critical/1"].Repeats);

        EscalationPlan.Follow(watches, new AlertStep(AlertEvent.Acknowledged, Raised + Minute, critical with { State = AlertState.Acknowledged, AcknowledgedAtMs = Raised + Minute }), PolicyOf);
        Assert.Empty(watches);

        var other = Alert("a/critical/2");
        EscalationPlan.Follow(watches, new AlertStep(AlertEvent.Raised, Raised, other), PolicyOf);
        EscalationPlan.Follow(watches, new AlertStep(AlertEvent.Cleared, Raised + Minute, other with { State = AlertState.Cleared, ClearedAtMs = Raised + Minute }), PolicyOf);
        Assert.Empty(watches);
    }

    [Fact]
    public void An_acknowledged_or_cleared_alert_is_never_due()
    {
        var policy = Policy(renotifyMinutes: 1, escalateMinutes: 1, to: "on-call");
        foreach (var state in new[] { AlertState.Acknowledged, AlertState.Cleared })
        {
            var due = EscalationPlan.Due(EscalationWatch.Of(Alert(state: state)), policy, Raised + (100 * Minute));
            Assert.False(due.Any);
            Assert.Null(due.NextDueMs);
        }
    }

    [Fact]
    public void A_resync_watches_the_unacknowledged_active_alerts_with_a_policy_and_keeps_existing_watches()
    {
        EscalationPolicy? PolicyOf(AlertSeverity s) => s == AlertSeverity.Info ? null : Policy(renotifyMinutes: 15);
        var kept = EscalationWatch.Of(Alert("kept")) with { Repeats = 2, LastRenotifiedAtMs = Raised + (30 * Minute) };
        var watches = new Dictionary<string, EscalationWatch> { ["kept"] = kept, ["gone"] = EscalationWatch.Of(Alert("gone")) };

        EscalationPlan.Resync(watches,
            [Alert("kept"), Alert("new"), Alert("acked", state: AlertState.Acknowledged), Alert("info", AlertSeverity.Info)], PolicyOf);

        Assert.Equal(["kept", "new"], watches.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(kept, watches["kept"]);
        Assert.Equal(EscalationWatch.Of(Alert("new")), watches["new"]);
    }

    [Fact]
    public void Policies_are_checked_at_start_and_each_problem_names_its_key()
    {
        var options = new EscalationOptions
        {
            Critical = new() { RenotifyEvery = TimeSpan.FromMilliseconds(500), EscalateAfter = TimeSpan.FromMinutes(30), EscalateTo = ["on-call", "pager"] },
            Warning = new() { EscalateTo = ["on-call"] },
            Info = new() { EscalateAfter = TimeSpan.Zero },
        };

        var problems = options.Problems(new HashSet<string>(["on-call", "technicians"]));

        Assert.Equal(5, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("Alerts:Escalation:Critical:RenotifyEvery must be at least 00:00:01", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Alerts:Escalation:Critical:EscalateTo names \"pager\"", StringComparison.Ordinal)
            && p.Contains("configured: on-call, technicians", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Alerts:Escalation:Warning:EscalateTo is set but", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Alerts:Escalation:Info:EscalateAfter must be at least", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Alerts:Escalation:Info:EscalateAfter is set but Alerts:Escalation:Info:EscalateTo names no destination", StringComparison.Ordinal));

        var valid = new EscalationOptions
        {
            Critical = new() { RenotifyEvery = TimeSpan.FromSeconds(1), EscalateAfter = TimeSpan.FromHours(1), EscalateTo = ["on-call"] },
        };
        Assert.Empty(valid.Problems(new HashSet<string>(["on-call"])));
        Assert.NotNull(valid.PolicyOf(AlertSeverity.Critical));
        Assert.Null(valid.PolicyOf(AlertSeverity.Warning));
        Assert.Empty(new EscalationOptions().Problems(new HashSet<string>()));
    }
}

/// <summary>The escalation's state survives the grain state store's JSON (single node and cluster use the same options).</summary>
public class EscalationStateTests
{
    [Fact]
    public void The_watches_and_cursor_read_back_as_written()
    {
        var alert = new AlertInfo("freezer-1/too-warm/1", "b12", "r101", "freezer-1", "too-warm", AlertRuleType.Threshold,
            AlertSeverity.Critical, AlertState.Active, 1000, -12, "too warm", null, null, null, null, null, false);
        var state = new AlertEscalationState { Cursor = 42 };
        state.Watches[alert.Id] = new EscalationWatch(alert, 3, 7000, true);

        var json = System.Text.Json.JsonSerializer.Serialize(state, Telemetry.Grains.Persistence.DurableFileGrainStorage.JsonOptions);
        var read = System.Text.Json.JsonSerializer.Deserialize<AlertEscalationState>(json, Telemetry.Grains.Persistence.DurableFileGrainStorage.JsonOptions)!;

        Assert.Equal(42, read.Cursor);
        Assert.Equal(state.Watches[alert.Id], read.Watches[alert.Id]);
    }
}
