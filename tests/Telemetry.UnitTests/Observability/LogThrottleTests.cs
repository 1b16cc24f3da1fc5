using Telemetry.Domain.Observability;

namespace Telemetry.UnitTests.Observability;

public class LogThrottleTests
{
    /// <summary>A clock the test moves by hand.</summary>
    sealed class ManualClock : TimeProvider
    {
        long ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => ticks;

        public void Advance(TimeSpan by) => ticks += by.Ticks;
    }

    [Fact]
    public void One_line_per_key_and_interval_with_the_count_held_back()
    {
        var clock = new ManualClock();
        var throttle = new LogThrottle(TimeSpan.FromSeconds(10), clock);

        Assert.True(throttle.ShouldLog("a", out var first));
        Assert.Equal(0, first);
        Assert.False(throttle.ShouldLog("a", out _));
        Assert.False(throttle.ShouldLog("a", out _));
        Assert.True(throttle.ShouldLog("b", out _)); // other keys are independent

        clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(throttle.ShouldLog("a", out _));
        clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.True(throttle.ShouldLog("a", out var heldBack));
        Assert.Equal(3, heldBack);
    }
}
