using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Telemetry.IntegrationTests.Reports;

/// <summary>
/// <c>GET /api/reports/energy</c> through real Kestrel over daily points in a real InfluxDB 1.6, compared with figures
/// this test computes from the points it wrote (local dates from <see cref="TimeZoneInfo"/>, Europe/Berlin: a 23-hour
/// and a 25-hour day, a partial day, months with missing days, a building the registry does not list).
/// </summary>
[Collection(EnergyReportFixture.CollectionName)]
public sealed class EnergyReportApiTests(EnergyReportFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    HttpClient Http => fixture.Service.Http;

    /// <summary>One expected row (period, building, room, kWh, peak, meter counts, complete).</summary>
    sealed record Row(string Period, string Building, string? Room, double Kwh, double? Peak, int? Register, int? Power, bool Complete);

    [Fact]
    public async Task PerDayByBuilding_AcrossSpringForward_LabelsLocalDates_AndSaysWhichDaysAreComplete()
    {
        var from = new DateOnly(2026, 3, 27);
        var to = new DateOnly(2026, 4, 2);

        var report = await GetJsonAsync($"api/reports/energy?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}&by=building&period=day");

        Assert.Equal("energy-campus", report.GetProperty("campus").GetString());
        Assert.Equal(EnergyReportData.TimeZone, report.GetProperty("timezone").GetString());
        Assert.Equal("2026-03-27", report.GetProperty("from").GetString());
        Assert.Equal("2026-04-02", report.GetProperty("to").GetString());
        Assert.Equal("building", report.GetProperty("by").GetString());
        Assert.Equal("day", report.GetProperty("period").GetString());
        AssertRows(Expected(from, to, byRoom: false, month: false), report);
        AssertTotals(from, to, byRoom: false, report);

        // The 23-hour day is complete at 23 hours, under its local date (its point is at 2026-03-28T23:00Z).
        var springForward = Rows(report).Single(r => r.Period == "2026-03-29" && r.Building == "b-north");
        Assert.True(springForward.Complete);
        Assert.Equal(23, EnergyReportData.HoursOf(new DateOnly(2026, 3, 29)));
        Assert.Equal(EnergyReportData.Days.Single(d => d.Room is null && d.Building == "b-north" && d.Date == new DateOnly(2026, 3, 29)).Kwh!.Value, springForward.Kwh, 3);

        // A building the registry does not list is reported all the same.
        Assert.Contains(Rows(report), r => r.Building == "annex,old" && r.Period == "2026-03-29" && r.Complete);
    }

    [Fact]
    public async Task PerDayByBuilding_AcrossFallBack_A25HourDayIsCompleteOnlyWith25Hours()
    {
        var from = new DateOnly(2026, 10, 24);
        var to = new DateOnly(2026, 10, 26);

        var report = await GetJsonAsync($"api/reports/energy?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}&by=building&period=day");

        AssertRows(Expected(from, to, byRoom: false, month: false), report);
        AssertTotals(from, to, byRoom: false, report);
        Assert.Equal(25, EnergyReportData.HoursOf(new DateOnly(2026, 10, 25)));
        Assert.True(Rows(report).Single(r => r.Period == "2026-10-25" && r.Building == "b-south").Complete);
        Assert.False(Rows(report).Single(r => r.Period == "2026-10-25" && r.Building == "annex,old").Complete);
    }

    [Fact]
    public async Task PerMonthByBuilding_SumsTheDays_TakesTheHighestPeak_AndIsIncompleteWithAMissingOrPartialDay()
    {
        var from = new DateOnly(2026, 3, 1);
        var to = new DateOnly(2026, 4, 30);

        var report = await GetJsonAsync($"api/reports/energy?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}&by=building&period=month");

        AssertRows(Expected(from, to, byRoom: false, month: true), report);
        AssertTotals(from, to, byRoom: false, report);
        var rows = Rows(report);
        Assert.True(rows.Single(r => r.Period == "2026-03" && r.Building == "b-north").Complete);
        Assert.False(rows.Single(r => r.Period == "2026-04" && r.Building == "b-north").Complete);   // 15 April is partial
        Assert.False(rows.Single(r => r.Period == "2026-03" && r.Building == "b-south").Complete);   // 1–24 March missing
        var march = EnergyReportData.Days.Where(d => d.Room is null && d.Building == "b-north" && d.Date.Month == 3 && d.Date.Year == 2026).ToList();
        Assert.Equal(31, march.Count);
        Assert.Equal(march.Sum(d => d.Kwh!.Value), rows.Single(r => r.Period == "2026-03" && r.Building == "b-north").Kwh, 3);
        Assert.Equal(march.Max(d => d.Peak), rows.Single(r => r.Period == "2026-03" && r.Building == "b-north").Peak!.Value, 3);
    }

    [Fact]
    public async Task PerMonth_ARangeThatCutsTheMonth_IsCompleteWhenEveryDayInRangeIs()
    {
        var from = new DateOnly(2026, 3, 25);
        var to = new DateOnly(2026, 3, 31);

        var report = await GetJsonAsync($"api/reports/energy?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}&by=building&period=month");

        AssertRows(Expected(from, to, byRoom: false, month: true), report);
        Assert.True(Rows(report).Single(r => r.Building == "b-south").Complete);
    }

    [Fact]
    public async Task ByRoom_PerDayAndPerMonth_OnlyRoomsWithEnergy_CompleteFromTheirBuildingsDay()
    {
        foreach (var (from, to, month) in new[]
        {
            (new DateOnly(2026, 3, 27), new DateOnly(2026, 4, 2), false),
            (new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 30), true),
        })
        {
            var report = await GetJsonAsync($"api/reports/energy?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}&by=room&period={(month ? "month" : "day")}");

            Assert.Equal("room", report.GetProperty("by").GetString());
            AssertRows(Expected(from, to, byRoom: true, month), report);
            AssertTotals(from, to, byRoom: true, report);
            Assert.DoesNotContain(Rows(report), r => r.Room == "office");
            foreach (var row in report.GetProperty("rows").EnumerateArray())
            {
                Assert.False(row.TryGetProperty("meters_power", out _), "room rows have no meter counts");
            }
        }
    }

    [Fact]
    public async Task Csv_ByAcceptOrFormat_IsTheSameReport_WithHeaderQuotingTotalsAndAFileName()
    {
        const string query = "api/reports/energy?from=2026-10-24&to=2026-10-26&by=building&period=day";
        var json = await GetJsonAsync(query);

        using var byAccept = new HttpRequestMessage(HttpMethod.Get, new Uri(query, UriKind.Relative));
        byAccept.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var acceptAnswer = await Http.SendAsync(byAccept, Ct);
        using var formatAnswer = await Http.GetAsync(new Uri(query + "&format=csv", UriKind.Relative), Ct);

        foreach (var answer in new[] { acceptAnswer, formatAnswer })
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal("text/csv", answer.Content.Headers.ContentType?.MediaType);
            Assert.Equal("attachment", answer.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal("energy-2026-10-24-2026-10-26.csv", answer.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        }

        var csv = await acceptAnswer.Content.ReadAsStringAsync(Ct);
        Assert.Equal(csv, await formatAnswer.Content.ReadAsStringAsync(Ct));
        Assert.EndsWith("\r\n", csv, StringComparison.Ordinal);
        Assert.Contains("\"annex,old\"", csv, StringComparison.Ordinal);        // RFC 4180 quoting
        Assert.Contains(",'=legacy,", csv, StringComparison.Ordinal);           // not a formula in a spreadsheet

        var lines = ParseCsv(csv);
        Assert.Equal(new[] { "period", "building", "energy_kwh", "peak_kw", "meters_register", "meters_power", "complete" }, lines[0]);
        var rows = Rows(json);
        var totals = json.GetProperty("totals").EnumerateArray().ToList();
        Assert.Equal(1 + rows.Count + totals.Count + 1, lines.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var line = lines[1 + i];
            Assert.Equal(rows[i].Period, line[0]);
            Assert.Equal(rows[i].Building, line[1].TrimStart('\''));
            Assert.Equal(rows[i].Kwh, double.Parse(line[2], CultureInfo.InvariantCulture));
            Assert.Equal(rows[i].Peak, double.Parse(line[3], CultureInfo.InvariantCulture));
            Assert.Equal(rows[i].Register, int.Parse(line[4], CultureInfo.InvariantCulture));
            Assert.Equal(rows[i].Power, int.Parse(line[5], CultureInfo.InvariantCulture));
            Assert.Equal(rows[i].Complete ? "true" : "false", line[6]);
        }

        for (var i = 0; i < totals.Count; i++)
        {
            var line = lines[1 + rows.Count + i];
            Assert.Equal("total", line[0]);
            Assert.Equal(totals[i].GetProperty("building").GetString(), line[1].TrimStart('\''));
            Assert.Equal(totals[i].GetProperty("energy_kwh").GetDouble(), double.Parse(line[2], CultureInfo.InvariantCulture));
        }

        var grand = lines[^1];
        Assert.Equal(new[] { "total", "" }, grand.Take(2));
        Assert.Equal(json.GetProperty("total_kwh").GetDouble(), double.Parse(grand[2], CultureInfo.InvariantCulture));
        Assert.Equal(Expected(new DateOnly(2026, 10, 24), new DateOnly(2026, 10, 26), false, false).Sum(r => r.Kwh), double.Parse(grand[2], CultureInfo.InvariantCulture), 3);
    }

    [Fact]
    public async Task Csv_ByRoom_HasTheRoomColumn_AndFormatJsonWinsOverAccept()
    {
        const string query = "api/reports/energy?from=2026-03-29&to=2026-03-29&by=room";
        using var csvAnswer = await Http.GetAsync(new Uri(query + "&format=csv", UriKind.Relative), Ct);
        var lines = ParseCsv(await csvAnswer.Content.ReadAsStringAsync(Ct));
        Assert.Equal(new[] { "period", "building", "room", "energy_kwh", "complete" }, lines[0]);
        Assert.Contains(lines, l => l.SequenceEqual(new[] { "2026-03-29", "b-south", "plant", "40", "true" }));
        Assert.Contains(lines, l => l.SequenceEqual(new[] { "total", "b-south", "plant", "40", "true" }));

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(query + "&format=json", UriKind.Relative));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var jsonAnswer = await Http.SendAsync(request, Ct);
        Assert.Equal("application/json", jsonAnswer.Content.Headers.ContentType?.MediaType);

        using var preferJson = new HttpRequestMessage(HttpMethod.Get, new Uri(query, UriKind.Relative));
        preferJson.Headers.Accept.ParseAdd("text/csv;q=0.5, application/json");
        using var preferJsonAnswer = await Http.SendAsync(preferJson, Ct);
        Assert.Equal("application/json", preferJsonAnswer.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ARangeWithoutData_IsAnEmptyReport()
    {
        var report = await GetJsonAsync("api/reports/energy?from=2025-01-01&to=2025-01-31&period=month");

        Assert.Empty(report.GetProperty("rows").EnumerateArray());
        Assert.Empty(report.GetProperty("totals").EnumerateArray());
        Assert.Equal(0, report.GetProperty("total_kwh").GetDouble());
    }

    [Theory]
    [InlineData("to=2026-03-31", "from")]
    [InlineData("from=2026-03-01", "to")]
    [InlineData("from=2026-3-1&to=2026-03-31", "from")]
    [InlineData("from=2026-03-01&to=31.03.2026", "to")]
    [InlineData("from=2026-02-30&to=2026-03-31", "from")]
    [InlineData("from=2026-03-31&to=2026-03-01", "to")]
    [InlineData("from=2020-01-01&to=2026-03-01", "to")]
    [InlineData("from=2026-03-01&to=2026-03-31&by=floor", "by")]
    [InlineData("from=2026-03-01&to=2026-03-31&period=week", "period")]
    [InlineData("from=2026-03-01&to=2026-03-31&format=xlsx", "format")]
    [InlineData("from=2026-03-01&from=2026-03-02&to=2026-03-31", "from")]
    public async Task BadParameters_Are400_NamingTheParameter(string query, string parameter)
    {
        using var answer = await Http.GetAsync(new Uri("api/reports/energy?" + query, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
        var problem = await answer.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Equal(parameter, problem.GetProperty("parameter").GetString());
        Assert.Contains($"'{parameter}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThreeYearsAreAllowed()
    {
        using var answer = await Http.GetAsync(new Uri("api/reports/energy?from=2024-01-01&to=2027-01-01&period=month", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var report = await answer.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(EnergyReportData.Days.Where(d => d.Room is null).Sum(d => d.Kwh!.Value), report.GetProperty("total_kwh").GetDouble(), 3);
    }

    // ---- what the test expects, from the points it wrote ----

    static List<Row> Expected(DateOnly from, DateOnly to, bool byRoom, bool month)
    {
        var buildingDays = EnergyReportData.Days.Where(d => d.Room is null).ToDictionary(d => (d.Building, d.Date));
        var days = EnergyReportData.Days
            .Where(d => (d.Room is not null) == byRoom && d.Kwh is not null && d.Date >= from && d.Date <= to)
            .Select(d => (Day: d, Complete: buildingDays.TryGetValue((d.Building, d.Date), out var b) && EnergyReportData.IsComplete(b)))
            .ToList();
        return days
            .GroupBy(x => (Period: month ? x.Day.Date.ToString("yyyy-MM", CultureInfo.InvariantCulture) : x.Day.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), x.Day.Building, x.Day.Room))
            .Select(g =>
            {
                var first = month ? new DateOnly(g.First().Day.Date.Year, g.First().Day.Date.Month, 1) : g.First().Day.Date;
                var last = month ? first.AddMonths(1).AddDays(-1) : first;
                first = first < from ? from : first;
                last = last > to ? to : last;
                var daysInPeriod = last.DayNumber - first.DayNumber + 1;
                return new Row(
                    g.Key.Period, g.Key.Building, g.Key.Room,
                    g.Sum(x => x.Day.Kwh!.Value),
                    byRoom ? null : g.Max(x => x.Day.Peak),
                    byRoom ? null : g.Max(x => x.Day.Register),
                    byRoom ? null : g.Max(x => x.Day.Power),
                    g.Count() == daysInPeriod && g.All(x => x.Complete));
            })
            .OrderBy(r => r.Period, StringComparer.Ordinal).ThenBy(r => r.Building, StringComparer.Ordinal).ThenBy(r => r.Room, StringComparer.Ordinal)
            .ToList();
    }

    static void AssertRows(List<Row> expected, JsonElement report)
    {
        var actual = Rows(report);
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Select(r => (r.Period, r.Building, r.Room)), actual.Select(r => (r.Period, r.Building, r.Room)));
        for (var i = 0; i < expected.Count; i++)
        {
            var what = $"{expected[i].Period} {expected[i].Building} {expected[i].Room}";
            Assert.True(Math.Abs(expected[i].Kwh - actual[i].Kwh) < 0.0006, $"{what}: {actual[i].Kwh} kWh, expected {expected[i].Kwh}");
            Assert.Equal(expected[i].Peak, actual[i].Peak);
            Assert.Equal(expected[i].Register, actual[i].Register);
            Assert.Equal(expected[i].Power, actual[i].Power);
            Assert.True(expected[i].Complete == actual[i].Complete, $"{what}: complete {actual[i].Complete}, expected {expected[i].Complete}");
        }
    }

    static void AssertTotals(DateOnly from, DateOnly to, bool byRoom, JsonElement report)
    {
        var days = Expected(from, to, byRoom, month: false);
        var expected = days.GroupBy(r => (r.Building, r.Room))
            .Select(g => (g.Key.Building, g.Key.Room, Kwh: g.Sum(r => r.Kwh), Complete: g.Count() == to.DayNumber - from.DayNumber + 1 && g.All(r => r.Complete)))
            .OrderBy(t => t.Building, StringComparer.Ordinal).ThenBy(t => t.Room, StringComparer.Ordinal)
            .ToList();
        var actual = report.GetProperty("totals").EnumerateArray().ToList();
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Building, actual[i].GetProperty("building").GetString());
            Assert.Equal(expected[i].Room, actual[i].TryGetProperty("room", out var room) ? room.GetString() : null);
            Assert.Equal(expected[i].Kwh, actual[i].GetProperty("energy_kwh").GetDouble(), 3);
            Assert.Equal(expected[i].Complete, actual[i].GetProperty("complete").GetBoolean());
        }

        Assert.Equal(days.Sum(r => r.Kwh), report.GetProperty("total_kwh").GetDouble(), 3);
    }

    static List<Row> Rows(JsonElement report) => report.GetProperty("rows").EnumerateArray().Select(r => new Row(
        r.GetProperty("period").GetString()!,
        r.GetProperty("building").GetString()!,
        r.TryGetProperty("room", out var room) ? room.GetString() : null,
        r.GetProperty("energy_kwh").GetDouble(),
        r.TryGetProperty("peak_kw", out var peak) ? peak.GetDouble() : null,
        r.TryGetProperty("meters_register", out var register) ? register.GetInt32() : null,
        r.TryGetProperty("meters_power", out var power) ? power.GetInt32() : null,
        r.GetProperty("complete").GetBoolean())).ToList();

    async Task<JsonElement> GetJsonAsync(string path)
    {
        using var answer = await Http.GetAsync(new Uri(path, UriKind.Relative), Ct);
        var body = await answer.Content.ReadAsStringAsync(Ct);
        Assert.True(answer.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)answer.StatusCode} {body}");
        Assert.Equal("application/json", answer.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>RFC 4180 records (quoted fields with doubled quotes, CRLF line ends), written here to read the answer independently.</summary>
    static List<List<string>> ParseCsv(string csv)
    {
        var records = new List<List<string>>();
        var record = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < csv.Length; i++)
        {
            var c = csv[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < csv.Length && csv[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                record.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\r' && i + 1 < csv.Length && csv[i + 1] == '\n')
            {
                record.Add(field.ToString());
                field.Clear();
                records.Add(record);
                record = [];
                i++;
            }
            else if (c is '\r' or '\n')
            {
                Assert.Fail($"a bare {(c == '\n' ? "LF" : "CR")} is not an RFC 4180 line end (at {i})");
            }
            else
            {
                field.Append(c);
            }
        }

        Assert.Empty(record);
        return records;
    }
}
