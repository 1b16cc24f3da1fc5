using Telemetry.Domain.Ingest;
using Telemetry.Grains.Reports;

namespace Telemetry.UnitTests.Reports;

public class ReportOptionsTests
{
    static readonly IngestLimits Ingest = new();

    [Fact]
    public void The_defaults_are_valid_with_the_default_ingest_limits()
    {
        Assert.Empty(new ReportOptions().Problems(Ingest));
    }

    [Fact]
    public void A_lateness_longer_than_ingest_max_age_is_refused_naming_both_keys()
    {
        var problem = Assert.Single(new ReportOptions { Lateness = TimeSpan.FromDays(31) }.Problems(Ingest));
        Assert.Contains("Reports:Lateness", problem, StringComparison.Ordinal);
        Assert.Contains("Ingest:MaxAge", problem, StringComparison.Ordinal);
        Assert.Empty(new ReportOptions { Lateness = TimeSpan.FromDays(31), RecheckDays = 2 }.Problems(new IngestLimits { MaxAge = TimeSpan.FromDays(40) }));
    }

    public static TheoryData<string, Action<ReportOptions>> Bad => new()
    {
        { "Reports:Interval", o => o.Interval = TimeSpan.Zero },
        { "Reports:Settle", o => o.Settle = TimeSpan.FromSeconds(-1) },
        { "Reports:MarkFlushInterval", o => o.MarkFlushInterval = TimeSpan.Zero },
        { "Reports:Lateness", o => o.Lateness = TimeSpan.Zero },
        { "Reports:Lookback", o => o.Lookback = TimeSpan.Zero },
        { "Reports:Lookback", o => o.Lookback = TimeSpan.FromHours(25) },
        { "Reports:RecheckDays", o => o.RecheckDays = -1 },
        { "Reports:RecheckDays", o => o.RecheckDays = 31 },
        { "Reports:MaxDaysPerTick", o => o.MaxDaysPerTick = 0 },
        { "Reports:OvernightStartHour", o => o.OvernightStartHour = -1 },
        { "Reports:OvernightStartHour", o => o.OvernightEndHour = 25 },
        { "Reports:OvernightStartHour", o => (o.OvernightStartHour, o.OvernightEndHour) = (5, 5) },
        { "Reports:OvernightStartHour", o => (o.OvernightStartHour, o.OvernightEndHour) = (22, 5) },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void A_bad_value_is_one_problem_naming_its_key(string key, Action<ReportOptions> change)
    {
        var options = new ReportOptions();
        change(options);
        Assert.Contains(key, Assert.Single(options.Problems(Ingest)), StringComparison.Ordinal);
    }

    [Fact]
    public void Nothing_is_checked_while_reports_are_off()
    {
        Assert.Empty(new ReportOptions { Enabled = false, Interval = TimeSpan.Zero, Lateness = TimeSpan.FromDays(400) }.Problems(Ingest));
    }

    [Fact]
    public void Every_problem_is_listed_at_once()
    {
        Assert.Equal(3, new ReportOptions { Interval = TimeSpan.Zero, Settle = TimeSpan.Zero, MaxDaysPerTick = 0 }.Problems(Ingest).Count);
    }
}
