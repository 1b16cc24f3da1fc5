using Telemetry.Contracts;
using Telemetry.Domain.Alerts;

namespace Telemetry.UnitTests.Alerts;

/// <summary>Which notifications a quiet window holds back, and which windows may be stored (<see cref="QuietWindowRules"/>).</summary>
public class QuietWindowRulesTests
{
    // Monday 2026-11-30 in Berlin (UTC+1 in winter).
    static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    static long Local(int day, int hour, int minute = 0) =>
        new DateTimeOffset(2026, 11, day, hour, minute, 0, TimeSpan.FromHours(1)).ToUnixTimeMilliseconds();

    static AlertInfo Alert(string building = "b12", string sensor = "freezer-1", AlertSeverity severity = AlertSeverity.Warning) =>
        new("freezer-1/too-warm/1", building, "r101", sensor, "too-warm", AlertRuleType.Threshold, severity, AlertState.Active,
            0, -12, "too warm", null, null, null, null, null, false);

    static QuietWindow Window(string? building = null, string? sensor = null, long? from = null, long? until = null,
        string? schedule = null, AlertSeverity upTo = AlertSeverity.Critical) =>
        new("w1", building, sensor, from, until, schedule, upTo, "maintenance", "ana", 0);

    [Fact]
    public void A_building_window_holds_back_its_buildings_alerts_only_between_from_and_until()
    {
        var window = Window(building: "b12", from: Local(30, 8), until: Local(30, 12));
        Assert.Same(window, QuietWindowRules.Suppressing([window], Alert(), Local(30, 9), Berlin));
        Assert.Null(QuietWindowRules.Suppressing([window], Alert(building: "b7"), Local(30, 9), Berlin));
        Assert.Null(QuietWindowRules.Suppressing([window], Alert(), Local(30, 7, 59), Berlin));
        Assert.Null(QuietWindowRules.Suppressing([window], Alert(), Local(30, 12), Berlin));
    }

    [Fact]
    public void A_sensor_window_covers_that_sensor_and_a_severity_ceiling_lets_worse_alerts_through()
    {
        var window = Window(sensor: "freezer-1", until: Local(30, 12), upTo: AlertSeverity.Warning);
        Assert.NotNull(QuietWindowRules.Suppressing([window], Alert(), Local(30, 9), Berlin));
        Assert.Null(QuietWindowRules.Suppressing([window], Alert(sensor: "freezer-2"), Local(30, 9), Berlin));
        Assert.Null(QuietWindowRules.Suppressing([window], Alert(severity: AlertSeverity.Critical), Local(30, 9), Berlin));
    }

    [Theory]
    [InlineData(30, 22, 0, true)]   // Monday evening
    [InlineData(1, 5, 59, true)]    // Tuesday morning, after Monday night (December 1)
    [InlineData(1, 6, 0, false)]    // Tuesday 06:00: over
    [InlineData(30, 21, 59, false)] // Monday before 22:00
    [InlineData(29, 23, 0, false)]  // Sunday night is not listed
    [InlineData(30, 3, 0, false)]   // Monday morning follows Sunday night, not listed
    public void A_schedule_past_midnight_runs_from_the_listed_evening_to_the_next_morning(int day, int hour, int minute, bool quiet)
    {
        var at = day == 1
            ? new DateTimeOffset(2026, 12, 1, hour, minute, 0, TimeSpan.FromHours(1)).ToUnixTimeMilliseconds()
            : Local(day, hour, minute);
        var window = Window(schedule: "mon-fri 22:00-06:00");
        Assert.Equal(quiet, QuietWindowRules.Suppressing([window], Alert(), at, Berlin) is not null);
    }

    [Theory]
    [InlineData("mon-fri 22:00-06:00", null)]
    [InlineData("daily 12:00-13:00", null)]
    [InlineData("weekdays 22:00-06:00", "are not days")]
    [InlineData("mon-fri 22:00", "is not a period")]
    [InlineData("mon-fri 25:00-06:00", "is not a period")]
    [InlineData("mon-fri 06:00-06:00", "is empty")]
    [InlineData("22:00-06:00", "is not a schedule")]
    public void A_schedule_is_days_and_a_period(string schedule, string? error)
    {
        var problems = QuietWindowRules.Problems(Window(schedule: schedule));
        if (error is null)
        {
            Assert.Empty(problems);
        }
        else
        {
            Assert.Contains(problems, p => p.StartsWith("schedule:", StringComparison.Ordinal) && p.Contains(error, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_window_needs_an_end_or_a_schedule_and_until_after_from()
    {
        Assert.Contains(QuietWindowRules.Problems(Window()), p => p.Contains("needs an end", StringComparison.Ordinal));
        Assert.Contains(QuietWindowRules.Problems(Window(from: Local(30, 9), until: Local(30, 9))), p => p.Contains("until must be after from", StringComparison.Ordinal));
        Assert.Contains(QuietWindowRules.Problems(Window(building: " ", until: Local(30, 9))), p => p.StartsWith("building", StringComparison.Ordinal));
        Assert.Contains(QuietWindowRules.Problems(Window(until: Local(30, 9)) with { Reason = " " }), p => p.StartsWith("reason", StringComparison.Ordinal));
        Assert.Empty(QuietWindowRules.Problems(Window(until: Local(30, 9))));
    }

    [Fact]
    public void A_window_past_its_end_is_over()
    {
        Assert.True(QuietWindowRules.IsOver(Window(until: Local(30, 9)), Local(30, 9)));
        Assert.False(QuietWindowRules.IsOver(Window(until: Local(30, 9)), Local(30, 8)));
        Assert.False(QuietWindowRules.IsOver(Window(schedule: "daily 12:00-13:00"), Local(30, 9)));
    }
}
