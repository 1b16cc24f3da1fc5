using Telemetry.Domain.Reports;

namespace Telemetry.UnitTests.Reports;

public class LocalCalendarTests
{
    static readonly LocalCalendar Berlin = LocalCalendar.ForZone("Europe/Berlin");
    static readonly LocalCalendar Utc = LocalCalendar.ForZone("UTC");

    static DateTimeOffset Z(int month, int day, int hour, int minute = 0) => new(2026, month, day, hour, minute, 0, TimeSpan.Zero);

    [Fact]
    public void An_ordinary_berlin_day_runs_from_local_midnight_to_local_midnight()
    {
        var day = Berlin.DayOf(Z(6, 10, 12));
        Assert.Equal(Z(6, 9, 22), day.StartUtc);
        Assert.Equal(Z(6, 10, 22), day.EndUtc);
        Assert.Equal(new DateOnly(2026, 6, 10), day.LocalDate);
        Assert.Equal(TimeSpan.FromHours(2), day.Offset);
    }

    [Fact]
    public void The_spring_forward_day_has_23_hours_and_no_local_two_oclock()
    {
        var day = Berlin.DayOf(Z(3, 29, 12));
        Assert.Equal(Z(3, 28, 23), day.StartUtc);
        Assert.Equal(Z(3, 29, 22), day.EndUtc);
        Assert.Equal(TimeSpan.FromHours(23), day.Length);

        var hours = Berlin.Windows(ReportPeriod.Hour, day.StartUtc, day.EndUtc).ToList();
        Assert.Equal(23, hours.Count);
        Assert.All(hours, h => Assert.Equal(TimeSpan.FromHours(1), h.Length));
        Assert.DoesNotContain(hours, h => h.LocalStart.Hour == 2);
        Assert.Equal([0, 1, 3, 4], hours.Take(4).Select(h => h.LocalStart.Hour));

        // 00:59Z is 01:59 CET, 01:00Z is 03:00 CEST: consecutive instants, consecutive windows.
        var before = Berlin.HourOf(Z(3, 29, 0, 59));
        var after = Berlin.HourOf(Z(3, 29, 1));
        Assert.Equal(1, before.LocalStart.Hour);
        Assert.Equal(3, after.LocalStart.Hour);
        Assert.Equal(before.EndUtc, after.StartUtc);
    }

    [Fact]
    public void The_fall_back_day_has_25_hours_and_two_distinct_local_two_oclock_windows()
    {
        var day = Berlin.DayOf(Z(10, 25, 12));
        Assert.Equal(Z(10, 24, 22), day.StartUtc);
        Assert.Equal(Z(10, 25, 23), day.EndUtc);
        Assert.Equal(TimeSpan.FromHours(25), day.Length);

        var hours = Berlin.Windows(ReportPeriod.Hour, day.StartUtc, day.EndUtc).ToList();
        Assert.Equal(25, hours.Count);
        var twos = hours.Where(h => h.LocalStart.Hour == 2).ToList();
        Assert.Equal(2, twos.Count);
        Assert.Equal(Z(10, 25, 0), twos[0].StartUtc);
        Assert.Equal(TimeSpan.FromHours(2), twos[0].Offset);
        Assert.Equal(Z(10, 25, 1), twos[1].StartUtc);
        Assert.Equal(TimeSpan.FromHours(1), twos[1].Offset);
        Assert.Equal(twos[0].LocalStart, twos[1].LocalStart);
        Assert.NotEqual(twos[0], twos[1]);

        Assert.Equal(twos[0], Berlin.HourOf(Z(10, 25, 0, 30)));
        Assert.Equal(twos[1], Berlin.HourOf(Z(10, 25, 1, 30)));
    }

    [Fact]
    public void Every_instant_of_the_dst_days_lies_in_exactly_the_window_returned_for_it()
    {
        foreach (var from in new[] { Z(3, 28, 20), Z(10, 24, 20) })
        {
            for (var t = from; t < from.AddHours(30); t = t.AddMinutes(7))
            {
                var hour = Berlin.HourOf(t);
                var day = Berlin.DayOf(t);
                Assert.True(hour.Contains(t), $"{t:o} not in hour {hour}");
                Assert.True(day.Contains(t), $"{t:o} not in day {day}");
                Assert.True(hour.StartUtc >= day.StartUtc && hour.EndUtc <= day.EndUtc);
                Assert.Equal(TimeZoneInfo.ConvertTime(t, Berlin.Zone).Hour, hour.LocalStart.Hour);
            }
        }
    }

    [Fact]
    public void Utc_days_and_hours_are_the_utc_ones()
    {
        var day = Utc.DayOf(Z(3, 29, 1, 30));
        Assert.Equal(Z(3, 29, 0), day.StartUtc);
        Assert.Equal(Z(3, 30, 0), day.EndUtc);
        var hour = Utc.HourOf(Z(10, 25, 1, 30));
        Assert.Equal(Z(10, 25, 1), hour.StartUtc);
        Assert.Equal(Z(10, 25, 2), hour.EndUtc);
        Assert.Equal(24, Utc.Windows(ReportPeriod.Hour, day.StartUtc, day.EndUtc).Count());
    }

    [Fact]
    public void Overnight_and_weekend_are_judged_in_local_time()
    {
        // 2026-03-28 is a Saturday. 23:30Z on Friday 27 March is 00:30 Saturday in Berlin.
        var hour = Berlin.HourOf(Z(3, 27, 23, 30));
        Assert.True(LocalCalendar.IsOvernight(hour));
        Assert.True(LocalCalendar.IsWeekend(hour));
        Assert.False(LocalCalendar.IsWeekend(Utc.HourOf(Z(3, 27, 23, 30))));

        Assert.False(LocalCalendar.IsOvernight(Berlin.HourOf(Z(3, 30, 4)))); // 06:00 CEST
        Assert.True(LocalCalendar.IsOvernight(Berlin.HourOf(Z(3, 30, 2)))); // 04:00 CEST
        Assert.False(LocalCalendar.IsWeekend(Berlin.DayOf(Z(3, 30, 12))));
        Assert.False(LocalCalendar.IsOvernight(Berlin.DayOf(Z(3, 30, 2))));
    }

    [Theory]
    [InlineData("Europe/Berlin")]
    [InlineData("Asia/Kolkata")] // +05:30: local hours are not UTC hours
    [InlineData("Australia/Lord_Howe")] // DST shifts by 30 minutes: an hour around the change is shorter
    public void Hour_and_day_windows_tile_a_whole_year_without_gaps_or_overlaps(string zone)
    {
        var calendar = LocalCalendar.ForZone(zone);
        var from = Z(1, 1, 0);
        var to = from.AddYears(1);
        foreach (var period in new[] { ReportPeriod.Hour, ReportPeriod.Day })
        {
            var previous = calendar.WindowOf(period, from);
            Assert.Equal(previous, calendar.WindowOf(period, previous.StartUtc));
            var count = 0;
            while (previous.EndUtc < to)
            {
                var next = calendar.WindowOf(period, previous.EndUtc);
                Assert.Equal(previous.EndUtc, next.StartUtc);
                Assert.Equal(next, calendar.WindowOf(period, next.EndUtc.AddTicks(-1)));
                Assert.True(next.Length > TimeSpan.Zero && next.Length <= TimeSpan.FromHours(period == ReportPeriod.Hour ? 1 : 25), $"{next}");
                Assert.Equal(next.LocalStart, TimeZoneInfo.ConvertTime(next.StartUtc, calendar.Zone).DateTime);
                previous = next;
                count++;
            }

            Assert.InRange(count, period == ReportPeriod.Hour ? 8755 : 364, period == ReportPeriod.Hour ? 8770 : 366);
        }
    }

    [Fact]
    public void An_unknown_zone_is_refused()
    {
        Assert.Throws<TimeZoneNotFoundException>(() => LocalCalendar.ForZone("Mars/Olympus_Mons"));
    }
}
