using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Storage.Spool;

namespace Telemetry.UnitTests.Storage.Spool;

public sealed class SpoolCheckpointTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("telemetry-spool-checkpoint-").FullName;

    [Theory]
    [InlineData("12 345\n", 12, 345)]
    [InlineData("  1 0  ", 1, 0)]
    [InlineData("000000000007 9", 7, 9)]
    public void A_checkpoint_is_a_segment_and_an_offset(string text, long segment, long offset)
    {
        Assert.True(SpoolCheckpoint.TryParse(text, out var position));
        Assert.Equal(new SpoolPosition(segment, offset), position);
    }

    [Theory]
    [InlineData("")]
    [InlineData("12")]
    [InlineData("12 345 6")]
    [InlineData("-1 5")]
    [InlineData("1 x")]
    [InlineData("1\n5")]
    public void Anything_else_is_unreadable(string text) => Assert.False(SpoolCheckpoint.TryParse(text, out _));

    [Fact]
    public void A_saved_checkpoint_is_loaded_again_and_a_missing_one_means_the_first_segment()
    {
        var checkpoint = new SpoolCheckpoint(directory, TimeProvider.System, NullLogger.Instance);
        Assert.Equal(SpoolCheckpoint.Start, checkpoint.Load());

        checkpoint.Save(new SpoolPosition(42, 4096));
        Assert.Equal(new SpoolPosition(42, 4096), new SpoolCheckpoint(directory, TimeProvider.System, NullLogger.Instance).Load());
        Assert.Equal(["checkpoint"], Directory.GetFiles(directory).Select(Path.GetFileName));
    }

    [Fact]
    public void An_unreadable_checkpoint_sends_the_drain_to_the_oldest_segment()
    {
        File.WriteAllText(Path.Combine(directory, SpoolCheckpoint.FileName), "garbage");
        Assert.Equal(SpoolCheckpoint.Oldest, new SpoolCheckpoint(directory, TimeProvider.System, NullLogger.Instance).Load());
    }

    [Fact]
    public void Advancing_writes_at_most_every_250_ms_unless_segments_are_released()
    {
        var clock = new SteppedClock();
        var checkpoint = new SpoolCheckpoint(directory, clock, NullLogger.Instance);
        checkpoint.Advance(new SpoolPosition(1, 10), mustPersist: false); // the first advance always writes
        Assert.Equal(new SpoolPosition(1, 10), checkpoint.Load());

        clock.Advance(TimeSpan.FromMilliseconds(249));
        checkpoint.Advance(new SpoolPosition(1, 20), mustPersist: false);
        Assert.Equal(new SpoolPosition(1, 10), checkpoint.Load());

        checkpoint.Advance(new SpoolPosition(2, 0), mustPersist: true);
        Assert.Equal(new SpoolPosition(2, 0), checkpoint.Load());

        clock.Advance(TimeSpan.FromMilliseconds(250));
        checkpoint.Advance(new SpoolPosition(2, 30), mustPersist: false);
        Assert.Equal(new SpoolPosition(2, 30), checkpoint.Load());
    }

    /// <summary>A monotonic clock that moves only when told to.</summary>
    sealed class SteppedClock : TimeProvider
    {
        long ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => ticks;

        public void Advance(TimeSpan by) => ticks += by.Ticks;
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
