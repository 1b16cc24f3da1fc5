using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Telemetry.IntegrationTests.EndToEnd;

namespace Telemetry.IntegrationTests.Reports;

/// <summary>The operator's view of the report grain: <c>/api/reports/status</c> and <c>/api/reports/recompute</c>.</summary>
[Collection(ReportFixture.CollectionName)]
public sealed class ReportAdminTests(ReportFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    async Task<JsonElement> StatusAsync()
    {
        using var response = await fixture.Service.Http.GetAsync(new Uri("api/reports/status", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).Clone();
    }

    [Fact]
    public async Task A_recompute_marks_the_days_and_the_grain_works_them_off()
    {
        var before = (await StatusAsync()).GetProperty("daysComputed").GetInt64();
        var first = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-5);
        var prefixes = Enumerable.Range(0, 3).Select(d => first.AddDays(d).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).ToList();
        using var response = await fixture.Service.Http.PostAsync(new Uri($"api/reports/recompute?from={prefixes[0]}&to={prefixes[2]}", UriKind.Relative), null, Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(3, (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("days").GetInt32());

        var status = await Poll.UntilAsync(
            "the report grain to compute the three days asked for",
            StatusAsync,
            s => s.GetProperty("daysComputed").GetInt64() >= before + 3
                 && !s.GetProperty("dirtyDays").EnumerateArray().Any(d => prefixes.Contains(d.GetString()!)),
            TimeSpan.FromSeconds(60), every: TimeSpan.FromMilliseconds(250), cancellationToken: Ct);
        Assert.True(status.GetProperty("lastClosedHourEnd").GetDateTimeOffset() <= DateTimeOffset.UtcNow);
    }

    [Theory]
    [InlineData("from=2026-01-03&to=2026-01-01")]
    [InlineData("from=2026-01-01")]
    [InlineData("from=01.01.2026&to=2026-01-02")]
    [InlineData("from=2025-01-01&to=2026-12-31")]
    public async Task A_bad_range_is_refused_with_400(string query)
    {
        using var response = await fixture.Service.Http.PostAsync(new Uri($"api/reports/recompute?{query}", UriKind.Relative), null, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_day_older_than_the_lateness_is_refused_because_its_raw_readings_may_be_gone()
    {
        var old = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-40).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        using var response = await fixture.Service.Http.PostAsync(new Uri($"api/reports/recompute?from={old}&to={old}", UriKind.Relative), null, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Reports:Lateness", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }
}

/// <summary>Report settings that cannot work stop the service at start with an error naming the keys.</summary>
public sealed class ReportConfigurationTests
{
    [Fact]
    public async Task A_lateness_beyond_the_ingest_max_age_stops_the_start_naming_both_keys()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var service = await TelemetryServiceHost.StartAsync(["--Reports:Lateness=31.00:00:00", "--Ingest:MaxAge=30.00:00:00"], TestContext.Current.CancellationToken);
        });
        Assert.Contains("Reports:Lateness", error.Message, StringComparison.Ordinal);
        Assert.Contains("Ingest:MaxAge", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>With <c>Reports:Enabled=false</c> the drainer's marks are the no-op ones; by default they are kept.</summary>
public sealed class ReportsDisabledTests
{
    [Fact]
    public async Task Reports_off_leave_the_drainer_without_marks()
    {
        var spool = Directory.CreateTempSubdirectory("telemetry-it-spool-").FullName;
        try
        {
            await using var off = Telemetry.Service.Hosting.TelemetryApp.Build(["--Reports:Enabled=false", $"--Spool:Path={spool}"]);
            Assert.IsType<Telemetry.Storage.Reports.NoReportMarks>(off.Services.GetRequiredService<Telemetry.Storage.Reports.IReportMarks>());

            await using var on = Telemetry.Service.Hosting.TelemetryApp.Build([$"--Spool:Path={spool}"]);
            Assert.IsType<Telemetry.Storage.Reports.ReportMarks>(on.Services.GetRequiredService<Telemetry.Storage.Reports.IReportMarks>());
        }
        finally
        {
            Directory.Delete(spool, recursive: true);
        }
    }
}
