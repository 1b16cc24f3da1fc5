using System.Text.Json;
using Telemetry.Domain.Reports;

namespace Telemetry.UnitTests.Reports;

public class CalendarAggregatesTests
{
    static readonly LocalCalendar Berlin = LocalCalendar.ForZone("Europe/Berlin");

    static long Ms(int month, int day, int hour, int minute = 0) =>
        new DateTimeOffset(2026, month, day, hour, minute, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    [Fact]
    public void Out_of_order_readings_give_the_same_hour_as_in_order()
    {
        var values = Enumerable.Range(0, 60).Select(i => (Ms(6, 10, 8, i), (double)(i % 7))).ToList();
        var inOrder = new CalendarAggregates(Berlin, ReportPeriod.Hour, TimeSpan.FromHours(1));
        var shuffled = new CalendarAggregates(Berlin, ReportPeriod.Hour, TimeSpan.FromHours(1));
        foreach (var (t, v) in values)
        {
            inOrder.Add("temperature", t, v, []);
        }

        foreach (var (t, v) in values.OrderBy(x => (x.Item1 * 7919) % 61))
        {
            shuffled.Add("temperature", t, v, []);
        }

        var point = Assert.Single(inOrder.Points());
        Assert.Equal(point, Assert.Single(shuffled.Points()));
        Assert.Equal(0, point.Min);
        Assert.Equal(6, point.Max);
        Assert.Equal(60, point.Count);
        Assert.Equal(59 % 7, point.Last);
        Assert.Equal(values.Average(x => x.Item2), point.Mean, 12);
        Assert.Equal(10, point.Window.LocalStart.Hour);
    }

    [Fact]
    public void A_correction_replaces_the_value_and_reports_only_its_window()
    {
        var agg = new CalendarAggregates(Berlin, ReportPeriod.Hour, TimeSpan.FromDays(2));
        agg.Add("power", Ms(6, 10, 8), 10, []);
        agg.Add("power", Ms(6, 10, 9), 20, []);

        var changed = new List<CalendarPoint>();
        Assert.Equal(CalendarAddOutcome.Corrected, agg.Add("power", Ms(6, 10, 8), 4, changed));
        var point = Assert.Single(changed);
        Assert.Equal(Ms(6, 10, 8), point.Window.StartUtc.ToUnixTimeMilliseconds());
        Assert.Equal(1, point.Count);
        Assert.Equal(4, point.Mean);

        changed.Clear();
        Assert.Equal(CalendarAddOutcome.Unchanged, agg.Add("power", Ms(6, 10, 8), 4, changed));
        Assert.Empty(changed);
    }

    [Fact]
    public void Yesterday_is_corrected_within_the_lateness_and_refused_after_it()
    {
        var agg = new CalendarAggregates(Berlin, ReportPeriod.Day, TimeSpan.FromHours(36));
        agg.Add("energy", Ms(6, 9, 10), 1, []);
        agg.Add("energy", Ms(6, 10, 10), 2, []);

        // 9 June (local) ends 9 June 22:00Z; a watermark of 10 June 10:00Z is within 36 h.
        var changed = new List<CalendarPoint>();
        Assert.Equal(CalendarAddOutcome.Added, agg.Add("energy", Ms(6, 9, 11), 5, changed));
        var point = Assert.Single(changed);
        Assert.Equal(new DateOnly(2026, 6, 9), point.Window.LocalDate);
        Assert.Equal(2, point.Count);

        // Watermark 11 June 10:00Z = 9 June's end + 36 h: the day is closed and dropped.
        agg.Add("energy", Ms(6, 11, 10), 3, []);
        Assert.DoesNotContain(agg.Points(), p => p.Window.LocalDate == new DateOnly(2026, 6, 9));
        changed.Clear();
        Assert.Equal(CalendarAddOutcome.TooLate, agg.Add("energy", Ms(6, 9, 12), 9, changed));
        Assert.Empty(changed);
        Assert.Equal(1, agg.TooLateReadings);
        Assert.Equal(2, agg.OpenWindowCount);
    }

    [Fact]
    public void Memory_stays_bounded_by_the_lateness()
    {
        var agg = new CalendarAggregates(Berlin, ReportPeriod.Hour, TimeSpan.FromHours(3));
        for (var m = 0; m < 60 * 24 * 5; m += 5)
        {
            agg.Add("temperature", Ms(6, 1, 0) + (m * 60_000L), m, []);
        }

        Assert.InRange(agg.OpenWindowCount, 1, 5);
    }

    [Fact]
    public void The_repeated_autumn_hour_is_two_points()
    {
        var agg = new CalendarAggregates(Berlin, ReportPeriod.Hour, TimeSpan.FromHours(1));
        agg.Add("temperature", Ms(10, 25, 0, 30), 1, []);
        agg.Add("temperature", Ms(10, 25, 1, 30), 3, []);
        var points = agg.Points();
        Assert.Equal(2, points.Count);
        Assert.All(points, p => Assert.Equal(2, p.Window.LocalStart.Hour));
        Assert.Equal([1.0, 3.0], points.Select(p => p.Mean));
    }

    [Fact]
    public void The_state_round_trips_through_json()
    {
        var agg = new CalendarAggregates(Berlin, ReportPeriod.Day, TimeSpan.FromHours(30));
        agg.Add("a", Ms(3, 28, 23, 30), 1, []);
        agg.Add("b", Ms(3, 29, 12), 2, []);
        agg.Add("a", Ms(3, 29, 21, 59), 7, []);

        var json = JsonSerializer.Serialize(agg.ToState());
        var restored = new CalendarAggregates(JsonSerializer.Deserialize<CalendarAggregateState>(json)!);
        Assert.Equal(json, JsonSerializer.Serialize(restored.ToState()));
        Assert.Equal(agg.Points(), restored.Points());

        var changed = new List<CalendarPoint>();
        restored.Add("a", Ms(3, 29, 5), 4, changed);
        var point = Assert.Single(changed);
        Assert.Equal(3, point.Count);
        Assert.Equal(TimeSpan.FromHours(23), point.Window.Length);
    }
}
