namespace Telemetry.Storage.Spool;

/// <summary>A place in the spool: a segment and a byte offset in it.</summary>
public readonly record struct SpoolPosition(long Segment, long Offset) : IComparable<SpoolPosition>
{
    public int CompareTo(SpoolPosition other) =>
        Segment != other.Segment ? Segment.CompareTo(other.Segment) : Offset.CompareTo(other.Offset);

    public static bool operator <(SpoolPosition left, SpoolPosition right) => left.CompareTo(right) < 0;
    public static bool operator >(SpoolPosition left, SpoolPosition right) => left.CompareTo(right) > 0;
    public static bool operator <=(SpoolPosition left, SpoolPosition right) => left.CompareTo(right) <= 0;
    public static bool operator >=(SpoolPosition left, SpoolPosition right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{Segment}:{Offset}";
}

/// <summary>Lines read from the spool for one write to InfluxDB, and where they end.</summary>
public sealed record SpoolBatch(IReadOnlyList<string> Lines, SpoolPosition End, long Bytes, int Records);
