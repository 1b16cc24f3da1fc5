namespace Telemetry.Contracts;

/// <summary>
/// The report grain, one per campus (key <see cref="ReportKeys.Campus"/>): keeps the set of local days whose hourly
/// and daily report points must be (re)computed from the raw readings, and computes them a few per tick
/// (docs/reports.md, "How reports are computed").
/// </summary>
[Alias("Telemetry.IReportGrain")]
public interface IReportGrain : IGrainWithStringKey
{
    /// <summary>
    /// Hours (UTC hour starts, Unix ms) of late readings some node wrote to InfluxDB: each marks the local days of
    /// <c>[h − Reports:Lookback, h + 1 h + Reports:Lookback)</c> dirty (persisted before the call returns). Hours older
    /// than <c>Reports:Lateness</c> are counted and not applied. An empty array only activates the grain.
    /// </summary>
    [Alias("Mark")]
    Task MarkAsync(long[] hourStartsMs);

    /// <summary>
    /// Marks the campus-local dates <paramref name="from"/> to <paramref name="to"/> (inclusive) dirty (an operator's
    /// recompute); returns how many days were marked.
    /// </summary>
    [Alias("Recompute")]
    Task<int> RecomputeAsync(DateOnly from, DateOnly to);

    [Alias("GetStatus")]
    Task<ReportStatus> GetStatusAsync();
}

public static class ReportKeys
{
    /// <summary>The report grain's key (one per campus; the service serves one campus).</summary>
    public const string Campus = "campus";
}

/// <summary>
/// What the report grain holds: the dirty local dates (oldest first), the end of the last hour window it closed,
/// the days computed since its activation and the last failure (null when none since then).
/// </summary>
[GenerateSerializer, Immutable, Alias("Telemetry.ReportStatus")]
public sealed record ReportStatus(
    [property: Id(0)] IReadOnlyList<string> DirtyDays,
    [property: Id(1)] long LastClosedHourEndMs,
    [property: Id(2)] long DaysComputed,
    [property: Id(3)] string? LastFailure);
