using Telemetry.Domain.Reports;
using Telemetry.Grains.Reports;

namespace Telemetry.UnitTests.Reports;

public class ReportScheduleTests
{
    static readonly LocalCalendar Berlin = LocalCalendar.ForZone("Europe/Berlin");
    static readonly TimeSpan Lookback = TimeSpan.FromMinutes(15);

    static DateTimeOffset Utc(int month, int day, int hour, int minute = 0) => new(2026, month, day, hour, minute, 0, TimeSpan.Zero);

    static long Ms(int month, int day, int hour) => Utc(month, day, hour).ToUnixTimeMilliseconds();

    static DateOnly D(int month, int day) => new(2026, month, day);

    [Fact]
    public void A_mark_in_the_middle_of_a_local_day_touches_that_day_only()
    {
        // 10:00Z on 10 June is 12:00 CEST.
        Assert.Equal([D(6, 10)], ReportSchedule.DaysOfMark(Berlin, Ms(6, 10, 10), Lookback));
    }

    [Fact]
    public void A_mark_within_the_lookback_of_local_midnight_touches_both_days()
    {
        // 21:00Z–22:00Z on 10 June is 23:00–24:00 CEST: its readings are held into 11 June.
        Assert.Equal([D(6, 10), D(6, 11)], ReportSchedule.DaysOfMark(Berlin, Ms(6, 10, 21), Lookback));
        // 22:00Z is local midnight: 15 minutes back reach 10 June.
        Assert.Equal([D(6, 10), D(6, 11)], ReportSchedule.DaysOfMark(Berlin, Ms(6, 10, 22), Lookback));
        // 23:00Z is 01:00 CEST on 11 June: 15 minutes either side stay in 11 June.
        Assert.Equal([D(6, 11)], ReportSchedule.DaysOfMark(Berlin, Ms(6, 10, 23), Lookback));
    }

    [Fact]
    public void The_utc_day_boundary_is_not_the_local_one()
    {
        // 23:00Z on 10 January is 00:00 CET on 11 January; 00:00Z on 11 January is 01:00 CET.
        Assert.Equal([D(1, 10), D(1, 11)], ReportSchedule.DaysOfMark(Berlin, Ms(1, 10, 23), Lookback));
        Assert.Equal([D(1, 11)], ReportSchedule.DaysOfMark(Berlin, Ms(1, 11, 0), Lookback));
    }

    [Fact]
    public void A_mark_is_too_late_only_when_its_hour_ended_before_now_minus_lateness()
    {
        var now = Utc(6, 30, 12);
        var lateness = TimeSpan.FromDays(30);
        Assert.False(ReportSchedule.IsTooLate(Ms(5, 31, 11), now, lateness)); // ends 12:00Z 31 May = now − 30 d
        Assert.True(ReportSchedule.IsTooLate(Ms(5, 31, 10), now, lateness));
    }

    [Fact]
    public void Closing_hours_marks_their_days_after_the_settle_time_and_moves_on()
    {
        var start = Ms(6, 10, 8); // 10:00 CEST
        var (days, closed) = ReportSchedule.CloseHours(Berlin, start, Utc(6, 10, 9, 1), TimeSpan.FromMinutes(2), TimeSpan.FromDays(30), 2);
        Assert.Empty(days); // 08:00Z–09:00Z ended at 09:00Z, less than 2 minutes ago
        Assert.Equal(start, closed);

        (days, closed) = ReportSchedule.CloseHours(Berlin, start, Utc(6, 10, 11, 2), TimeSpan.FromMinutes(2), TimeSpan.FromDays(30), 2);
        Assert.Equal([D(6, 10)], days);
        Assert.Equal(Ms(6, 10, 11), closed);
    }

    [Fact]
    public void The_last_hour_of_a_day_also_marks_the_recheck_days_before_it()
    {
        // 21:00Z–22:00Z on 10 June is the last hour of 10 June (CEST).
        var (days, closed) = ReportSchedule.CloseHours(Berlin, Ms(6, 10, 21), Utc(6, 10, 22, 5), TimeSpan.FromMinutes(2), TimeSpan.FromDays(30), 2);
        Assert.Equal([D(6, 8), D(6, 9), D(6, 10)], days);
        Assert.Equal(Ms(6, 10, 22), closed);
    }

    [Fact]
    public void The_first_close_starts_at_the_beginning_of_today_and_a_long_outage_at_the_lateness()
    {
        var (days, closed) = ReportSchedule.CloseHours(Berlin, 0, Utc(6, 10, 10, 30), TimeSpan.FromMinutes(2), TimeSpan.FromDays(30), 2);
        Assert.Equal([D(6, 10)], days);
        Assert.Equal(Ms(6, 10, 10), closed);

        var (outage, _) = ReportSchedule.CloseHours(Berlin, Ms(1, 1, 0), Utc(6, 10, 10, 30), TimeSpan.FromMinutes(2), TimeSpan.FromDays(3), 0);
        Assert.Equal([D(6, 7), D(6, 8), D(6, 9), D(6, 10)], outage);
    }

    [Fact]
    public void A_day_of_25_hours_closes_once_after_its_25th_hour()
    {
        // 25 October 2026: CEST until 01:00Z, then CET; the local day runs 22:00Z (24 Oct) to 23:00Z (25 Oct).
        var (days, closed) = ReportSchedule.CloseHours(Berlin, Ms(10, 24, 22), Utc(10, 25, 23, 2), TimeSpan.FromMinutes(2), TimeSpan.FromDays(30), 0);
        Assert.Equal([D(10, 25)], days);
        Assert.Equal(Ms(10, 25, 23), closed);
    }
}
