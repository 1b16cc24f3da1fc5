using Telemetry.Storage.Reports;

namespace Telemetry.UnitTests.Storage;

public class ReportMarksTests
{
    sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    static readonly DateTimeOffset Now = new(2026, 6, 10, 12, 30, 0, TimeSpan.Zero);

    static long Ms(int hour, int minute) => new DateTimeOffset(2026, 6, 10, hour, minute, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    static string Raw(long ms, bool unregistered = false) =>
        $"telemetry,building=b\\ 1,room=r1,sensor=s1{(unregistered ? ",unregistered=true" : "")} energy_kwh=12.5,power_kw=3 {ms}";

    [Fact]
    public void Raw_lines_before_the_current_utc_hour_mark_their_hours_once()
    {
        var marks = new ReportMarks(new Clock(Now));
        marks.Note([Raw(Ms(10, 5)), Raw(Ms(10, 59)), Raw(Ms(11, 0)), Raw(Ms(12, 0)), Raw(Ms(12, 29)), Raw(Ms(10, 6))]);
        Assert.Equal([Ms(10, 0), Ms(11, 0)], marks.Take());
        Assert.Empty(marks.Take());
    }

    [Fact]
    public void Derived_lines_and_unreadable_timestamps_are_passed_over()
    {
        var marks = new ReportMarks(new Clock(Now));
        marks.Note([
            $"telemetry_1m,building=b1,room=r1,sensor=s1 mean=1 {Ms(9, 0)}",
            $"room_state,building=b1,room=r1 people=3 {Ms(9, 0)}",
            "telemetry,building=b1,room=r1,sensor=s1 x=1",
            "telemetry",
        ]);
        Assert.Equal(0, marks.Pending);
    }

    [Fact]
    public void Hours_put_back_after_a_failed_handover_go_with_the_next_take()
    {
        var marks = new ReportMarks(new Clock(Now));
        marks.Note([Raw(Ms(9, 10))]);
        var taken = marks.Take();
        marks.Note([Raw(Ms(8, 10), unregistered: true)]);
        marks.Return(taken);
        Assert.Equal([Ms(8, 0), Ms(9, 0)], marks.Take());
    }

    [Theory]
    [InlineData(0L, 0L)]
    [InlineData(3_599_999L, 0L)]
    [InlineData(3_600_000L, 3_600_000L)]
    [InlineData(-1L, -3_600_000L)]
    public void Hour_starts_are_floors(long ms, long hour) => Assert.Equal(hour, ReportMarks.HourOf(ms));
}
