using Microsoft.Extensions.Options;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Storage;
using Telemetry.Storage.Influx;

namespace Telemetry.IntegrationTests.Reports;

/// <summary><see cref="InfluxQuery"/> against the real InfluxDB 1.6 of the energy report fixture: answers, errors, names.</summary>
[Collection(EnergyReportFixture.CollectionName)]
public sealed class InfluxQueryTests(EnergyReportFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Plain HttpClients: the query sets its own base address and timeout.</summary>
    sealed class PlainClients : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new();
    }

    static InfluxQuery Query(Uri url, string database = EnergyReportFixture.Database, string? longPolicy = null) =>
        new(new PlainClients(), Options.Create(new InfluxOptions
        {
            Api = InfluxApi.V1,
            Url = url,
            Database = database,
            LongRetentionPolicy = longPolicy,
            Timeout = TimeSpan.FromSeconds(10),
        }));

    [Fact]
    public async Task ASelectGroupedByTags_GivesSeriesWithTheirTagsColumnsTimesAndValues()
    {
        var query = Query(fixture.Influx.Url);
        var day = new DateOnly(2026, 3, 29);
        var start = EnergyReportData.DayStart(day).ToUnixTimeMilliseconds();
        var end = EnergyReportData.DayStart(day.AddDays(1)).ToUnixTimeMilliseconds();

        var series = await query.QueryAsync(
            $"SELECT \"energy_kwh\", \"hours\" FROM {query.LongTerm("building_1d")} WHERE time >= {start}ms AND time < {end}ms GROUP BY \"building\"", Ct);

        var written = EnergyReportData.Days.Where(d => d.Room is null && d.Date == day).OrderBy(d => d.Building, StringComparer.Ordinal).ToList();
        Assert.Equal(written.Select(d => d.Building), series.Select(s => s.Tag("building")));
        foreach (var (s, d) in series.Zip(written))
        {
            Assert.Equal("building_1d", s.Name);
            Assert.Equal(new[] { "time", "energy_kwh", "hours" }, s.Columns);
            Assert.Single(s.Rows);
            Assert.Equal(start, s.Time(0));
            Assert.Equal(d.Kwh, s.Number(0, "energy_kwh"));
            Assert.Equal(d.Hours ?? 23, s.Number(0, "hours"));
            Assert.Null(s.Number(0, "no_such_column"));
            Assert.Equal("", s.Tag("room"));
        }
    }

    [Fact]
    public async Task AStringField_IsText_NotANumber()
    {
        var ms = EnergyReportData.DayStart(new DateOnly(2026, 6, 1)).ToUnixTimeMilliseconds();
        await fixture.Influx.WriteAsync(EnergyReportFixture.Database,
            $"meter_1d,building=b-north,room=plant,sensor=mains-q,kind=energy-meter energy_kwh=12.5,source=\"register\" {ms}", cancellationToken: Ct);

        var series = await Query(fixture.Influx.Url).QueryAsync("SELECT \"energy_kwh\", \"source\" FROM \"meter_1d\" WHERE \"sensor\" = 'mains-q'", Ct);

        var s = Assert.Single(series);
        Assert.Equal("register", s.Text(0, "source"));
        Assert.Null(s.Number(0, "source"));
        Assert.Equal(12.5, s.Number(0, "energy_kwh"));
        Assert.Null(s.Text(0, "energy_kwh"));
    }

    [Fact]
    public async Task AQueryInfluxDbCannotParse_Throws_WithInfluxDbsMessage()
    {
        var ex = await Assert.ThrowsAsync<InfluxQueryException>(() => Query(fixture.Influx.Url).QueryAsync("SELECT FROM WHERE", Ct));

        Assert.Contains("error parsing query", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStatementInfluxDbRefuses_Throws_WithInfluxDbsMessage()
    {
        var query = Query(fixture.Influx.Url, longPolicy: "no_such_policy");

        var ex = await Assert.ThrowsAsync<InfluxQueryException>(() => query.QueryAsync($"SELECT \"energy_kwh\" FROM {query.LongTerm("building_1d")}", Ct));

        Assert.Contains("retention policy not found", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no_such_policy", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableInfluxDb_Throws_SayingSo()
    {
        var url = new Uri($"http://127.0.0.1:{FreePort.Get()}/");

        var ex = await Assert.ThrowsAsync<InfluxQueryException>(() => Query(url).QueryAsync("SHOW DATABASES", Ct));

        Assert.Contains("unreachable", ex.Message, StringComparison.Ordinal);
        Assert.Contains(url.ToString(), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LongTerm_NamesTheLongPolicy_OrTheMeasurementAlone_Quoted()
    {
        Assert.Equal("\"long\".\"room_1d\"", Query(new Uri("http://127.0.0.1:1/"), longPolicy: "long").LongTerm("room_1d"));
        Assert.Equal("\"room_1d\"", Query(new Uri("http://127.0.0.1:1/")).LongTerm("room_1d"));
        Assert.Equal("\"five \\\"years\\\"\".\"room_1d\"", Query(new Uri("http://127.0.0.1:1/"), longPolicy: "five \"years\"").LongTerm("room_1d"));
    }
}
