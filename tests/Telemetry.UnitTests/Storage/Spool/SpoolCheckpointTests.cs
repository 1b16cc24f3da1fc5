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
        Assert.True(SpoolCheckpoint.TryParse(text, out var saved));
        Assert.Equal(new SavedPositions(new SpoolPosition(segment, offset), null), saved);
    }

    [Theory]
    [InlineData("12 345\nfeed 11 7\n", 11, 7)]
    [InlineData("12 345\n  feed   12  0  \n", 12, 0)]
    public void A_second_line_holds_the_grain_feeds_position(string text, long segment, long offset)
    {
        Assert.True(SpoolCheckpoint.TryParse(text, out var saved));
        Assert.Equal(new SavedPositions(new SpoolPosition(12, 345), new SpoolPosition(segment, offset)), saved);
    }

    [Fact]
    public void Both_positions_are_written_and_read_back_and_a_spool_without_a_feed_writes_the_old_one_line_format()
    {
        var both = new SavedPositions(new SpoolPosition(3, 100), new SpoolPosition(2, 4096));
        Assert.Equal("3 100\nfeed 2 4096\n", SpoolCheckpoint.Format(both));
        Assert.True(SpoolCheckpoint.TryParse(SpoolCheckpoint.Format(both), out var read));
        Assert.Equal(both, read);

        Assert.Equal("3 100\n", SpoolCheckpoint.Format(new SavedPositions(new SpoolPosition(3, 100), null)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("12")]
    [InlineData("12 345 6")]
    [InlineData("-1 5")]
    [InlineData("1 x")]
    [InlineData("1\n5")]
    [InlineData("1 5\n2 6")]
    [InlineData("1 5\nfeed 2")]
    [InlineData("1 5\nfeed 2 x")]
    [InlineData("1 5\nfed 2 6")]
    [InlineData("1 5\nfeed 2 6\nfeed 3 7")]
    public void Anything_else_is_unreadable(string text) => Assert.False(SpoolCheckpoint.TryParse(text, out _));

    [Fact]
    public void A_saved_checkpoint_is_loaded_again_and_a_missing_one_means_the_first_segment()
    {
        var checkpoint = new SpoolCheckpoint(directory, TimeProvider.System, NullLogger.Instance);
        Assert.Equal(new SavedPositions(SpoolCheckpoint.Start, SpoolCheckpoint.Start), checkpoint.Load());

        checkpoint.Save(new SavedPositions(new SpoolPosition(42, 4096), new SpoolPosition(41, 8)));
        Assert.Equal(new SavedPositions(new SpoolPosition(42, 4096), new SpoolPosition(41, 8)),
            new SpoolCheckpoint(directory, TimeProvider.System, NullLogger.Instance).Load());
        Assert.Equal(["checkpoint"], Directory.GetFiles(directory).Select(Path.GetFileName));
    }

    [Fact]
    public void A_one_line_checkpoint_of_an_older_spool_still_loads_without_a_feed_position()
    {
        File.WriteAllText(Path.Combine(directory, SpoolCheckpoint.FileName), "7 1234\n");
        Assert.Equal(new SavedPositions(new SpoolPosition(7, 1234), null), new SpoolCheckpoint(directory, TimeProvider.System, NullLogger.Instance).Load());
    }

    [Fact]
    public void An_unreadable_checkpoint_sends_the_drain_to_the_oldest_segment()
    {
        File.WriteAllText(Path.Combine(directory, SpoolCheckpoint.FileName), "garbage");
        Assert.Equal(new SavedPositions(SpoolCheckpoint.Oldest, SpoolCheckpoint.Oldest), new SpoolCheckpoint(directory, TimeProvider.System, NullLogger.Instance).Load());
    }

    [Fact]
    public void Advancing_writes_at_most_every_250_ms_unless_segments_are_released()
    {
        var clock = new SteppedClock();
        var checkpoint = new SpoolCheckpoint(directory, clock, NullLogger.Instance);
        checkpoint.Advance(At(1, 10), mustPersist: false); // the first advance always writes
        Assert.Equal(At(1, 10), checkpoint.Load());

        clock.Advance(TimeSpan.FromMilliseconds(249));
        checkpoint.Advance(At(1, 20), mustPersist: false);
        Assert.Equal(At(1, 10), checkpoint.Load());

        checkpoint.Advance(At(2, 0), mustPersist: true);
        Assert.Equal(At(2, 0), checkpoint.Load());

        clock.Advance(TimeSpan.FromMilliseconds(250));
        checkpoint.Advance(At(2, 30), mustPersist: false);
        Assert.Equal(At(2, 30), checkpoint.Load());
    }

    static SavedPositions At(long segment, long offset) => new(new SpoolPosition(segment, offset), new SpoolPosition(segment, 0));

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
