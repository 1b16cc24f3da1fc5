using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Telemetry.Domain.Reports;
using Telemetry.Service.Api;

namespace Telemetry.UnitTests.Reports;

/// <summary>The energy report's pure parts: parameters, content negotiation, rows and totals, CSV.</summary>
public sealed class EnergyReportBuildTests
{
    static readonly LocalCalendar Berlin = LocalCalendar.ForZone("Europe/Berlin");

    static (EnergyReportRequest? Request, string? Parameter, string? Error) Parse(string query, params string[] accept) =>
        EnergyReportRequest.Parse(new QueryCollection(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query)), new StringValues(accept));

    static EnergyDay Day(string building, DateOnly date, double kwh, bool complete = true, string? room = null, DateTimeOffset? time = null) =>
        new(date, time ?? Berlin.Day(date).StartUtc, building, room, kwh, 10, 1, 0, complete);

    [Theory]
    [InlineData("", false)]
    [InlineData("*/*", false)]
    [InlineData("application/json", false)]
    [InlineData("text/csv", true)]
    [InlineData("text/csv, application/json", true)]
    [InlineData("application/json, text/csv;q=0.9", false)]
    [InlineData("text/csv;q=0", false)]
    [InlineData("not a media type;;;", false)]
    public void WithoutFormat_CsvIsChosenByAccept(string accept, bool csv)
    {
        var parsed = Parse("from=2026-03-01&to=2026-03-31", accept);

        Assert.Equal(csv, parsed.Request!.Csv);
    }

    [Fact]
    public void Defaults_AreByBuildingPerDay_AndThreeYearsToTheDayAreAllowed()
    {
        var parsed = Parse("from=2024-02-29&to=2027-02-28");

        Assert.Equal(new EnergyReportRequest(new DateOnly(2024, 2, 29), new DateOnly(2027, 2, 28), EnergyReportBy.Building, EnergyReportPeriod.Day, false), parsed.Request);
        Assert.Equal("to", Parse("from=2024-02-29&to=2027-03-01").Parameter);
    }

    [Fact]
    public void AParameterValue_IsEchoedPrintableAndShort()
    {
        var parsed = Parse("from=2026-03-01&to=2026-03-31&by=" + Uri.EscapeDataString("\u001b[31m" + new string('x', 100)));

        Assert.Equal("by", parsed.Parameter);
        Assert.DoesNotContain("\u001b", parsed.Error, StringComparison.Ordinal);
        Assert.True(parsed.Error!.Length < 120, parsed.Error);
    }

    [Fact]
    public void AMonthCutByTheRange_IsCompleteWhenItsDaysInRangeAre_AndPointsOutsideTheRangeAreLeftOut()
    {
        var request = new EnergyReportRequest(new DateOnly(2026, 3, 30), new DateOnly(2026, 4, 1), EnergyReportBy.Building, EnergyReportPeriod.Month, false);
        EnergyDay[] days =
        [
            Day("b", new DateOnly(2026, 3, 29), 1000),
            Day("b", new DateOnly(2026, 3, 30), 1),
            Day("b", new DateOnly(2026, 3, 31), 2),
            Day("b", new DateOnly(2026, 4, 1), 4, complete: false),
        ];

        var report = EnergyReport.Build("c", "Europe/Berlin", Berlin, request, days);

        Assert.Equal(new[] { "2026-03", "2026-04" }, report.Rows.Select(r => r.Period));
        Assert.Equal(3, report.Rows[0].EnergyKwh);
        Assert.True(report.Rows[0].Complete);
        Assert.False(report.Rows[1].Complete);
        Assert.False(Assert.Single(report.Totals).Complete);
        Assert.Equal(7, report.TotalKwh);
    }

    [Fact]
    public void TwoPointsOnOneLocalDate_ThePointAtLocalMidnightIsTaken()
    {
        var date = new DateOnly(2026, 7, 1);
        var request = new EnergyReportRequest(date, date, EnergyReportBy.Building, EnergyReportPeriod.Day, false);
        EnergyDay[] days =
        [
            Day("b", date, 5),
            Day("b", date, 99, time: Berlin.Day(date).StartUtc.AddHours(2)),   // written under UTC before the zone was set
        ];

        var report = EnergyReport.Build("c", "Europe/Berlin", Berlin, request, days);

        Assert.Equal(5, Assert.Single(report.Rows).EnergyKwh);
    }

    [Fact]
    public void Csv_QuotesWhatRfc4180Requires_AndDefusesFormulas()
    {
        var date = new DateOnly(2026, 7, 1);
        var request = new EnergyReportRequest(date, date, EnergyReportBy.Room, EnergyReportPeriod.Day, true);
        EnergyDay[] days = [Day("say \"hi\"", date, 1.5, room: "a,b"), Day("+x", date, 0.0004, room: "-r")];

        var csv = EnergyReport.ToCsv(EnergyReport.Build("c", "Europe/Berlin", Berlin, request, days));

        Assert.Equal(
            "period,building,room,energy_kwh,complete\r\n"
            + "2026-07-01,'+x,'-r,0,true\r\n"
            + "2026-07-01,\"say \"\"hi\"\"\",\"a,b\",1.5,true\r\n"
            + "total,'+x,'-r,0,true\r\n"
            + "total,\"say \"\"hi\"\"\",\"a,b\",1.5,true\r\n"
            + "total,,,1.5,\r\n",
            csv);
    }
}
