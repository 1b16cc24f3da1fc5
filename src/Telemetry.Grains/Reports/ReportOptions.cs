using Microsoft.Extensions.Options;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Reports;

namespace Telemetry.Grains.Reports;

/// <summary>
/// Hourly and daily reports (configuration section <c>Reports</c>; docs/reports.md, docs/configuration.md):
/// <code>
/// "Reports": {
///   "Enabled": true,                  // false: no report grain, no marks, no hourly/daily series
///   "Interval": "00:01:00",           // the report grain's tick: closes hours, computes dirty days
///   "Settle": "00:02:00",             // an hour is computed this long after it ended
///   "Lateness": "30.00:00:00",        // readings this far back still correct their day; at most Ingest:MaxAge
///   "Lookback": "00:15:00",           // sample-and-hold of a reading, read around a day, longest power gap integrated
///   "MarkFlushInterval": "00:00:05",  // each node sends the hours of late readings it wrote to the report grain this often
///   "RecheckDays": 2,                 // when a day closes, the days before it are computed again (a lost mark)
///   "MaxDaysPerTick": 8,              // days computed per tick at most
///   "OvernightStartHour": 0, "OvernightEndHour": 5   // local hours of the overnight base load
/// }
/// </code>
/// All values are checked together by <see cref="Problems"/> at start (only while <see cref="Enabled"/>).
/// </summary>
public sealed class ReportOptions
{
    public const string SectionName = "Reports";

    public bool Enabled { get; set; } = true;

    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan Settle { get; set; } = TimeSpan.FromMinutes(2);

    public TimeSpan Lateness { get; set; } = TimeSpan.FromDays(30);

    public TimeSpan Lookback { get; set; } = TimeSpan.FromMinutes(15);

    public TimeSpan MarkFlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    public int RecheckDays { get; set; } = 2;

    public int MaxDaysPerTick { get; set; } = 8;

    public int OvernightStartHour { get; set; }

    public int OvernightEndHour { get; set; } = 5;

    /// <summary>The settings of the pure computation (<see cref="DayReport"/>).</summary>
    public ReportSettings ToSettings() => new(Lookback, OvernightStartHour, OvernightEndHour);

    /// <summary>
    /// Every problem of these options, each naming its key; empty when they are valid or reports are off. The one
    /// place the <c>Reports</c> section is validated (<paramref name="ingest"/>: the <c>Ingest</c> section, whose
    /// <c>MaxAge</c> bounds the lateness: a reading older than it is refused at the broker, so a longer lateness
    /// would promise corrections that can never come).
    /// </summary>
    public IReadOnlyList<string> Problems(IngestLimits ingest)
    {
        ArgumentNullException.ThrowIfNull(ingest);
        var problems = new List<string>();
        if (!Enabled)
        {
            return problems;
        }

        if (Interval <= TimeSpan.Zero)
        {
            problems.Add($"Reports:Interval must be longer than zero (is {Interval})");
        }

        if (Settle <= TimeSpan.Zero)
        {
            problems.Add($"Reports:Settle must be longer than zero (is {Settle})");
        }

        if (MarkFlushInterval <= TimeSpan.Zero)
        {
            problems.Add($"Reports:MarkFlushInterval must be longer than zero (is {MarkFlushInterval})");
        }

        if (Lateness <= TimeSpan.Zero)
        {
            problems.Add($"Reports:Lateness must be longer than zero (is {Lateness})");
        }
        else if (Lateness > ingest.MaxAge)
        {
            problems.Add($"Reports:Lateness ({Lateness}) must not be longer than Ingest:MaxAge ({ingest.MaxAge}): older readings are refused at the broker and could never correct their day");
        }

        if (Lookback <= TimeSpan.Zero || Lookback > TimeSpan.FromHours(24))
        {
            problems.Add($"Reports:Lookback must be longer than zero and at most 1.00:00:00 (is {Lookback})");
        }

        if (RecheckDays < 0 || (Lateness > TimeSpan.Zero && RecheckDays > Math.Ceiling(Lateness.TotalDays)))
        {
            problems.Add($"Reports:RecheckDays must be between 0 and the days of Reports:Lateness (is {RecheckDays})");
        }

        if (MaxDaysPerTick < 1)
        {
            problems.Add($"Reports:MaxDaysPerTick must be at least 1 (is {MaxDaysPerTick})");
        }

        if (OvernightStartHour is < 0 or > 23 || OvernightEndHour is < 1 or > 24 || OvernightStartHour >= OvernightEndHour)
        {
            problems.Add($"Reports:OvernightStartHour and Reports:OvernightEndHour must be local hours with 0 ≤ start < end ≤ 24 (are {OvernightStartHour} and {OvernightEndHour})");
        }

        return problems;
    }
}

/// <summary>Validates <see cref="ReportOptions"/> against the <c>Ingest</c> section through <see cref="ReportOptions.Problems"/>.</summary>
public sealed class ReportOptionsValidator(IOptionsMonitor<IngestLimits> ingest) : IValidateOptions<ReportOptions>
{
    public ValidateOptionsResult Validate(string? name, ReportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Problems(ingest.CurrentValue);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
