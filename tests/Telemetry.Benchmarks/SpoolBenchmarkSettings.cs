namespace Telemetry.Benchmarks;

/// <summary>What <c>telemetry-bench spool</c> runs, after defaults and --quick.</summary>
sealed class SpoolBenchmarkSettings
{
    /// <summary>The drainer's batch size, as configured by default in the service (Writer:MaxBatchLines).</summary>
    public const int MaxBatchLines = 5_000;

    public const string Database = "campus";

    public int Messages { get; init; }

    public int Writers { get; init; }

    public int LinesPerMessage { get; init; }

    public int BaselineMessages { get; init; }

    public int DrainLines { get; init; }

    public required string Directory { get; init; }

    public bool Quick { get; init; }

    public string? Validate() =>
        Messages <= 0 ? "--messages must be at least 1"
        : Writers <= 0 ? "--writers must be at least 1"
        : LinesPerMessage <= 0 ? "--lines-per-message must be at least 1"
        : LinesPerMessage > 10_000 ? "--lines-per-message must be at most 10000"
        : BaselineMessages <= 0 ? "--baseline-messages must be at least 1"
        : DrainLines < 0 ? "--drain-lines must not be negative"
        : null;
}
