using System.Text;
using System.Text.RegularExpressions;
using Telemetry.Contracts;
using Telemetry.Storage.Schema;
using Telemetry.IntegrationTests.Campus;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.Tests.Dashboards;

namespace Telemetry.IntegrationTests.Dashboards;

/// <summary>
/// Every query of every dashboard (panel targets, annotations, variables), interpolated as Grafana does, run against
/// the InfluxDB the in-process service writes to after the simulator has sent a campus day through it (with its faults,
/// so the alert panels have alerts).
/// </summary>
[Collection(CampusDayFixture.CollectionName)]
public sealed partial class DashboardQueryTests(CampusDayFixture fixture)
{
    const string EmptyDatabase = "dashboards_syntax";

    // The campus time zone the dashboards' tz() clauses use; panel "today"/"this week" overrides follow it too.
    static readonly TimeZoneInfo CampusZone = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    // Panels whose query looks at a window in the past (last night, last weekend) that data sent by a test cannot reach:
    // their queries must still be accepted, but may come back empty.
    static readonly HashSet<(string Dashboard, string Panel)> PastWindowPanels =
    [
        ("campus-energy", "Overnight base load (last night 00–05)"),
        ("campus-energy", "Weekend base load (last weekend)"),
    ];

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Files() => new(DashboardCatalog.DashboardPaths.Select(Path.GetFileName).OfType<string>());

    [Fact]
    public async Task Every_query_is_accepted_by_influxdb_on_an_empty_database()
    {
        await fixture.Influx.CreateDatabaseAsync(EmptyDatabase, Ct);
        await fixture.Influx.CreateRetentionPolicyAsync(EmptyDatabase, CampusDayFixture.LongRetentionPolicy, Ct);
        var failures = new StringBuilder();
        var count = 0;
        foreach (var dashboard in DashboardCatalog.LoadAll())
        {
            var variables = dashboard.Variables
                .Select(v => new GrafanaVariable(v.Name, v.Type == "constant" ? [v.Query] : ["bldg-1", "r101"], v.Multi, v.IncludeAll))
                .ToList();
            foreach (var query in dashboard.Queries)
            {
                count++;
                var (from, to) = GrafanaInfluxQl.PanelRange(DateTimeOffset.UtcNow.AddHours(-24), DateTimeOffset.UtcNow, query.TimeFrom, CampusZone);
                var text = new GrafanaInfluxQl(from, to, variables, minInterval: TimeSpan.FromSeconds(15)).Interpolate(query.Query);
                try
                {
                    await fixture.Influx.QueryAsync(EmptyDatabase, text, Ct);
                }
                catch (InvalidOperationException ex)
                {
                    failures.AppendLine($"{query}\n  query: {text}\n  InfluxDB: {ex.Message}");
                }
            }
        }

        Assert.True(count >= 40, $"only {count} queries found");
        Assert.True(failures.Length == 0, "InfluxDB refused dashboard queries:\n" + failures);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Every_query_returns_data_from_a_simulated_campus(string file)
    {
        await SimulateCampusOnceAsync();
        var dashboard = DashboardCatalog.Load(file);
        var measurements = await MeasurementsAsync();
        var now = DateTimeOffset.UtcNow;
        var from = now.AddHours(-24);
        var failures = new List<string>();

        // Variables first, in order, as Grafana resolves them: each may use the ones before it.
        var resolved = new List<GrafanaVariable>();
        foreach (var variable in dashboard.Variables)
        {
            if (variable.Type == "constant")
            {
                resolved.Add(new GrafanaVariable(variable.Name, [variable.Query]));
                continue;
            }

            var query = dashboard.Queries.Single(q => q.Kind == DashboardQueryKind.Variable && q.Owner == variable.Name);
            var text = new GrafanaInfluxQl(from, now, resolved).Interpolate(variable.Query);
            var (values, error) = await RunAsync(text);
            var options = values?.SelectMany(s => s.Values.Select(row => row[s.ColumnIndex("value")].GetString() ?? "")).Distinct().ToList() ?? [];
            if (error is not null || options.Count == 0)
            {
                failures.Add(Describe(query, text, error ?? "no values", measurements));

                // Fall back to the raw readings' tags so that the panels can still be checked.
                var fallback = await RunAsync($"SHOW TAG VALUES FROM \"telemetry\" WITH KEY = \"{variable.Name}\"");
                options = fallback.Series?.SelectMany(s => s.Values.Select(row => row[s.ColumnIndex("value")].GetString() ?? "")).Distinct().ToList() ?? [];
            }

            // A single-value sensor variable (the sensor detail dashboard): a sensor that raised an alert and has roll-ups,
            // so that every panel of that dashboard has something to show.
            if (variable.Name == "sensor" && !variable.Multi)
            {
                options = await InterestingSensorsFirstAsync(options);
            }

            // "All" selected, the dashboards' default: every option.
            resolved.Add(new GrafanaVariable(variable.Name, options, variable.Multi, variable.IncludeAll));
        }

        foreach (var query in dashboard.Queries.Where(q => q.Kind != DashboardQueryKind.Variable))
        {
            var (panelFrom, panelTo) = GrafanaInfluxQl.PanelRange(from, now, query.TimeFrom, CampusZone);
            var text = new GrafanaInfluxQl(panelFrom, panelTo, resolved, minInterval: TimeSpan.FromSeconds(15)).Interpolate(query.Query);
            var (series, error) = await RunAsync(text);
            if (error is not null)
            {
                failures.Add(Describe(query, text, error, measurements));
            }
            else if (series!.Count == 0 && !PastWindowPanels.Contains((query.Dashboard, query.Owner)) && !ReadsReportSeries(query.Query))
            {
                failures.Add(Describe(query, text, "no series", measurements));
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {dashboard.Queries.Count} queries of {file} failed:\n" + string.Join('\n', failures));
    }

    [Fact]
    public async Task Active_alerts_show_alerts_raised_long_ago_since_their_raise_time()
    {
        const string database = "dashboards_alert_history";
        const string policy = CampusDayFixture.LongRetentionPolicy;
        await fixture.Influx.CreateDatabaseAsync(database, Ct);
        await fixture.Influx.CreateRetentionPolicyAsync(database, policy, Ct);
        var now = DateTimeOffset.UtcNow;
        long Ago(double days) => now.AddDays(-days).ToUnixTimeMilliseconds();
        string Step(string sensor, string ev, long raisedAt, long at, int active, int acknowledged) =>
            $"alerts,building=b1,room=r1,sensor={sensor},rule=high,severity=critical,event={ev} alert_id=\"{sensor}/high/{raisedAt}\",active={active},acknowledged={acknowledged},message=\"m\",by=\"auto\" {at}";

        // s-old: raised 40 days ago, acknowledged, still open. s-gone: raised and cleared long ago.
        // s-again: an old alert cleared, a new one raised 2 days ago and open.
        await fixture.Influx.WriteToPolicyAsync(database, policy, string.Join('\n',
            Step("s-old", "raised", Ago(40), Ago(40), 1, 0),
            Step("s-old", "acknowledged", Ago(40), Ago(39), 1, 1),
            Step("s-gone", "raised", Ago(50), Ago(50), 1, 0),
            Step("s-gone", "cleared", Ago(50), Ago(45), 0, 0),
            Step("s-again", "raised", Ago(60), Ago(60), 1, 0),
            Step("s-again", "cleared", Ago(60), Ago(55), 0, 0),
            Step("s-again", "raised", Ago(2), Ago(2), 1, 0)), Ct);

        var panel = DashboardCatalog.Load("alerts.json").Panels.Single(p => (string?)p["title"] == "Active alerts");
        var targets = panel["targets"]!.AsArray().OfType<System.Text.Json.Nodes.JsonObject>()
            .ToDictionary(t => (string?)t["refId"] ?? "", t => (string?)t["query"] ?? "");
        var grafana = new GrafanaInfluxQl(now.AddHours(-24), now, [new GrafanaVariable("long_rp", [policy]), new GrafanaVariable("building", ["b1"], Multi: true, IncludeAll: true)]);
        var open = await fixture.Influx.QueryAsync(database, grafana.Interpolate(targets["A"]), Ct);
        var raised = await fixture.Influx.QueryAsync(database, grafana.Interpolate(targets["B"]), Ct);

        // The panel's inner join on alert_id, B's time shown as "since".
        var raisedAt = raised.SelectMany(s => s.Values.Select(row => (Id: row[s.ColumnIndex("alert_id")].GetString()!, Time: row[s.ColumnIndex("time")].GetInt64())))
            .ToDictionary(r => r.Id, r => r.Time, StringComparer.Ordinal);
        var shown = open
            .SelectMany(s => s.Values.Select(row => (Sensor: s.Tags["sensor"], Id: row[s.ColumnIndex("alert_id")].GetString()!)))
            .Where(r => raisedAt.ContainsKey(r.Id))
            .Select(r => (r.Sensor, Since: raisedAt[r.Id]))
            .OrderBy(r => r.Sensor, StringComparer.Ordinal)
            .ToList();

        Assert.Equal([("s-again", Ago(2)), ("s-old", Ago(40))], shown);
    }

    [Fact]
    public async Task Long_term_panels_read_the_hourly_and_daily_series_from_the_long_policy()
    {
        const string database = "dashboards_long_term";
        const string policy = CampusDayFixture.LongRetentionPolicy;
        await fixture.Influx.CreateDatabaseAsync(database, Ct);
        await fixture.Influx.CreateRetentionPolicyAsync(database, policy, Ct);
        var now = DateTimeOffset.UtcNow;

        // The report series of docs/schema.md, written only to the long policy (as the service does with
        // Influx:LongRetentionPolicy): ten local days and the last 48 hours of one building, room, meter and sensor.
        var lines = new List<string>();
        var today = TimeZoneInfo.ConvertTime(now, CampusZone).Date;
        for (var d = 0; d < 10; d++)
        {
            var date = today.AddDays(-d);
            var start = new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(date, DateTimeKind.Unspecified), CampusZone)).ToUnixTimeMilliseconds();
            var weekend = date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? 1 : 0;
            lines.AddRange(ReportPoints("1d", start, $"hours=24,base_load_kw=3.5,weekend={weekend}"));
        }

        var hour = now.ToUnixTimeMilliseconds() / 3_600_000 * 3_600_000;
        for (var h = 1; h <= 48; h++)
        {
            var start = hour - (h * 3_600_000L);
            var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(start), CampusZone);
            lines.AddRange(ReportPoints("1h", start, $"hours=1,overnight={(local.Hour < 5 ? 1 : 0)},weekend={(local.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? 1 : 0)}"));
        }

        // An alert raised 6 h ago and cleared 2 h ago, one raised 1 h ago and still open: the points the service writes.
        var cleared = LongTermAlert("bldg-1-r101-temp", now.AddHours(-6)) with { State = AlertState.Cleared, ClearedAtMs = now.AddHours(-2).ToUnixTimeMilliseconds(), ClearedBy = "auto" };
        var open = LongTermAlert("bldg-1-r101-co2", now.AddHours(-1));
        lines.AddRange(SeriesLines.AlertLines(new AlertStep(AlertEvent.Raised, cleared.RaisedAtMs, cleared with { State = AlertState.Active, ClearedAtMs = null, ClearedBy = null })));
        lines.AddRange(SeriesLines.AlertLines(new AlertStep(AlertEvent.Cleared, cleared.ClearedAtMs!.Value, cleared)));
        lines.AddRange(SeriesLines.AlertLines(new AlertStep(AlertEvent.Raised, open.RaisedAtMs, open)));
        await fixture.Influx.WriteToPolicyAsync(database, policy, string.Join('\n', lines), Ct);

        // The database's default policy has none of it: a read must name the policy.
        Assert.Empty(await fixture.Influx.QueryAsync(database, "SELECT count(\"energy_kwh\") FROM \"building_1d\"", Ct));
        Assert.NotEmpty(await fixture.Influx.QueryAsync(database, $"SELECT count(\"energy_kwh\") FROM \"{policy}\".\"building_1d\"", Ct));

        var failures = new List<string>();
        var count = 0;
        foreach (var dashboard in DashboardCatalog.LoadAll())
        {
            var variables = dashboard.Variables.Select(v => v.Type == "constant"
                ? new GrafanaVariable(v.Name, [v.Query])
                : new GrafanaVariable(v.Name, [v.Name switch { "building" => "bldg-1", "room" => "r101", _ => "bldg-1-r101-temp" }], v.Multi, v.IncludeAll)).ToList();
            Assert.Equal(policy, variables.Single(v => v.Name == "long_rp").Values.Single());
            foreach (var query in dashboard.Queries.Where(q => q.Kind != DashboardQueryKind.Variable && ReadsReportSeries(q.Query)))
            {
                count++;
                var (from, to) = GrafanaInfluxQl.PanelRange(now.AddHours(-24), now, query.TimeFrom, CampusZone);
                var text = new GrafanaInfluxQl(from, to, variables, minInterval: TimeSpan.FromSeconds(15)).Interpolate(query.Query);
                try
                {
                    var series = await fixture.Influx.QueryAsync(database, text, Ct);
                    if (series.Sum(s => s.Values.Count(row => row.Skip(1).Any(v => v.ValueKind == System.Text.Json.JsonValueKind.Number))) == 0)
                    {
                        failures.Add($"- {query}: no values\n    query: {text}");
                    }
                }
                catch (InvalidOperationException ex)
                {
                    failures.Add($"- {query}: {ex.Message}\n    query: {text}");
                }
            }
        }

        Assert.True(count >= 12, $"only {count} queries of hourly/daily series found");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} long-term queries failed:\n" + string.Join('\n', failures));

        // Alert annotations: the raise row carries the clear time (timeEndColumn), the open alert's row has none.
        var annotation = Assert.Single(DashboardCatalog.Load("alerts.json").Annotations);
        Assert.Equal("cleared_at_ms", (string?)annotation["timeEndColumn"]);
        var grafana = new GrafanaInfluxQl(now.AddHours(-24), now, [new GrafanaVariable("long_rp", [policy]), new GrafanaVariable("building", ["bldg-1"], Multi: true, IncludeAll: true)]);
        var rows = (await fixture.Influx.QueryAsync(database, grafana.Interpolate((string)annotation["query"]!), Ct))
            .SelectMany(s => s.Values.Select(row => (Time: row[s.ColumnIndex("time")].GetInt64(), End: row[s.ColumnIndex("cleared_at_ms")], Text: row[s.ColumnIndex("message")].GetString())))
            .OrderBy(r => r.Time)
            .ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal((cleared.RaisedAtMs, (double)cleared.ClearedAtMs!.Value, "m"), (rows[0].Time, rows[0].End.GetDouble(), rows[0].Text));
        Assert.Equal((open.RaisedAtMs, System.Text.Json.JsonValueKind.Null, "m"), (rows[1].Time, rows[1].End.ValueKind, rows[1].Text));
    }

    /// <summary>One window of every report measurement (docs/schema.md) for bldg-1, room r101, its meter and a sensor.</summary>
    static IEnumerable<string> ReportPoints(string window, long startMs, string calendarFields)
    {
        var energy = $"energy_kwh=12.5,peak_kw=4.2,mean_kw=3.9,meters=1,meters_register=1,meters_power=0,resets=0,gaps=0,occupied_hours=6,{calendarFields}";
        yield return $"building_{window},building=bldg-1 {energy} {startMs}";
        yield return $"campus_{window},campus=demo {energy} {startMs}";
        yield return $"room_{window},building=bldg-1,room=r101,room_type=classroom occupied_hours=6,people_mean=8.5,people_max=30,timetabled_hours=10,utilisation_pct=60,comfort_minutes=500,comfort_observed_minutes=600,energy_kwh=2.5 {startMs}";
        yield return $"meter_{window},building=bldg-1,room=r101,sensor=bldg-1-r101-meter,kind=energy-meter energy_kwh=2.5,peak_kw=1.1,resets=0,gaps=0,source=\"register\" {startMs}";
        yield return $"telemetry_{window},building=bldg-1,room=r101,sensor=bldg-1-r101-temp,kind=temperature,metric=temperature min=19.5,max=23.1,mean=21.4,count=60,last=21.2 {startMs}";
    }

    static AlertInfo LongTermAlert(string sensor, DateTimeOffset raisedAt) =>
        new($"{sensor}/high/{raisedAt.ToUnixTimeMilliseconds()}", "bldg-1", "r101", sensor, "high", AlertRuleType.Threshold, AlertSeverity.Warning,
            AlertState.Active, raisedAt.ToUnixTimeMilliseconds(), 30, "m", null, null, null, null, null, false);

    async Task<(IReadOnlyList<Fixtures.InfluxSeries>? Series, string? Error)> RunAsync(string query)
    {
        try
        {
            return (await fixture.Influx.QueryAsync(CampusDayFixture.Database, query, Ct), null);
        }
        catch (InvalidOperationException ex)
        {
            return (null, ex.Message);
        }
    }

    async Task<List<string>> InterestingSensorsFirstAsync(List<string> options)
    {
        async Task<HashSet<string>> SensorsAsync(string query) =>
            (await RunAsync(query)).Series?.SelectMany(s => s.Values.Select(row => row[s.ColumnIndex("value")].GetString() ?? "")).ToHashSet(StringComparer.Ordinal) ?? [];

        var alerting = await SensorsAsync("SHOW TAG VALUES FROM \"alerts\" WITH KEY = \"sensor\" WHERE \"event\" = 'raised'");
        var rolledUp = await SensorsAsync("SHOW TAG VALUES FROM \"telemetry_1m\" WITH KEY = \"sensor\"");
        return [.. options.OrderByDescending(o => alerting.Contains(o) && rolledUp.Contains(o)).ThenBy(o => o, StringComparer.Ordinal)];
    }

    async Task<HashSet<string>> MeasurementsAsync()
    {
        var series = await fixture.Influx.QueryAsync(CampusDayFixture.Database, "SHOW MEASUREMENTS", Ct);
        return series.SelectMany(s => s.Values.Select(row => row[0].GetString() ?? "")).ToHashSet(StringComparer.Ordinal);
    }

    static string Describe(DashboardQuery query, string sent, string answer, HashSet<string> measurements)
    {
        var missing = MeasurementReference().Matches(query.Query)
            .Select(m => m.Groups[1].Value)
            .Where(m => !measurements.Contains(m))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var why = missing.Count > 0 ? $" [measurement not written yet: {string.Join(", ", missing)}]" : "";
        return $"- {query}: {answer}{why}\n    query: {sent}";
    }

    /// <summary>Hourly/daily report series: written by the report grain after an hour settles, not within the simulated
    /// day; <see cref="Long_term_panels_read_the_hourly_and_daily_series_from_the_long_policy"/> covers them.</summary>
    static bool ReadsReportSeries(string query) => MeasurementReference().Matches(query).Any(m => ReportSeries().IsMatch(m.Groups[1].Value));

    [GeneratedRegex("FROM (?:\"[^\"]+\"\\.)?\"(\\w+)\"")]
    private static partial Regex MeasurementReference();

    [GeneratedRegex(@"^\w+_1[hd]$")]
    private static partial Regex ReportSeries();

    /// <summary>Waits until every derived series of the campus day is in InfluxDB (they are written on 1–2 s cycles).</summary>
    async Task SimulateCampusOnceAsync()
    {
        string[] series = ["telemetry", "telemetry_1m", "room_state", "building_state", "campus_state", "device_status", "service_stats", "refusals", "alerts"];
        await Poll.UntilAsync($"the measurements {string.Join(", ", series)}", MeasurementsAsync, found => series.All(found.Contains), within: TimeSpan.FromSeconds(30), cancellationToken: Ct);

        // Rate panels take differences between GROUP BY time($__interval) buckets: the service's counters must have
        // been written over at least one whole interval of the 24 h range, or a rate has nothing to subtract from.
        var interval = GrafanaInfluxQl.CalculateInterval(TimeSpan.FromHours(24), 1000, TimeSpan.FromSeconds(15));
        foreach (var counter in new[] { "service_stats", "refusals" })
        {
            await Poll.UntilAsync(
                $"{counter} written over at least two {interval.TotalSeconds:0} s intervals",
                async () => await fixture.Influx.QueryAsync(CampusDayFixture.Database,
                    $"SELECT count(*) FROM \"{counter}\" WHERE time > now() - 1h GROUP BY time({(long)interval.TotalSeconds}s) fill(none)", Ct),
                found => found.Sum(s => s.Values.Count) >= 2,
                within: TimeSpan.FromSeconds(30) + interval, cancellationToken: Ct);
        }
    }
}
