using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Telemetry.Storage.Schema;
using Telemetry.Tests.Dashboards;
using YamlDotNet.RepresentationModel;

namespace Telemetry.IntegrationTests.Dashboards;

/// <summary>
/// Checks of the dashboards' JSON model against defects that once shipped: bar gauges over tables that showed one
/// reduced value instead of a bar per row, a hard-coded time zone in the queries, panels that found meters by a room
/// name, active alerts limited to 30 days, and data links to dashboards or variables that do not exist.
/// </summary>
public sealed partial class DashboardModelTests
{
    // Grafana's own values a data link may use besides the panel's data.
    static readonly HashSet<string> LinkBuiltIns = new(StringComparer.Ordinal) { "__url_time_range", "__all_variables" };

    public static TheoryData<string> Files() => new(DashboardCatalog.DashboardPaths.Select(Path.GetFileName).OfType<string>());

    [Theory]
    [MemberData(nameof(Files))]
    public void Bar_gauges_over_tables_show_every_row(string file)
    {
        foreach (var panel in DashboardCatalog.Load(file).Panels.Where(p => (string?)p["type"] == "bargauge"))
        {
            var tables = panel["targets"]?.AsArray().OfType<JsonObject>().Any(t => (string?)t["resultFormat"] == "table") ?? false;
            if (tables)
            {
                Assert.True((bool?)panel["options"]?["reduceOptions"]?["values"] == true,
                    $"{file}: bar gauge \"{panel["title"]}\" reads a table but reduces it to one value (options.reduceOptions.values is not true)");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void No_query_hard_codes_a_time_zone(string file)
    {
        var dashboard = DashboardCatalog.Load(file);
        foreach (var query in dashboard.Queries)
        {
            foreach (Match tz in TzClause().Matches(query.Query))
            {
                Assert.True(tz.Value == "tz('${campus_tz}')", $"{query}: {tz.Value} instead of tz('${{campus_tz}}')");
                var variable = Assert.Single(dashboard.Variables, v => v.Name == "campus_tz");
                Assert.Equal("constant", variable.Type);
            }
        }
    }

    [Fact]
    public void The_time_zone_variable_is_the_registrys_campus_time_zone()
    {
        var registry = (YamlMappingNode)LoadYaml(DashboardCatalog.RegistryPath);
        var campus = (YamlMappingNode)registry.Children[new YamlScalarNode("campus")];
        var zone = ((YamlScalarNode)campus.Children[new YamlScalarNode("timezone")]).Value;

        var variables = DashboardCatalog.LoadAll().SelectMany(d => d.VariableNodes.Select(v => (d.Uid, Node: v)))
            .Where(v => (string?)v.Node["name"] == "campus_tz")
            .ToList();
        Assert.NotEmpty(variables);
        foreach (var (uid, node) in variables)
        {
            Assert.True((string?)node["query"] == zone, $"{uid}: $campus_tz is '{node["query"]}', the registry's campus.timezone is '{zone}'");
            Assert.True((string?)node["current"]?["value"] == zone, $"{uid}: $campus_tz's current value is '{node["current"]?["value"]}', not '{zone}'");
        }

        Assert.NotNull(TimeZoneInfo.FindSystemTimeZoneById(zone!));
    }

    [Fact]
    public void Every_data_link_leads_to_an_existing_dashboard_and_its_variables()
    {
        var dashboards = DashboardCatalog.LoadAll().ToDictionary(d => d.Uid, StringComparer.Ordinal);
        var count = 0;
        foreach (var dashboard in dashboards.Values)
        {
            foreach (var (panel, title, url) in dashboard.DataLinks)
            {
                count++;
                var where = $"{dashboard.Uid} / panel \"{panel}\" / link \"{title}\"";
                if (url.StartsWith("${console_url}/console/", StringComparison.Ordinal))
                {
                    continue; // the technician console, not a dashboard (ConsoleLinkTests in the unit tests)
                }

                var match = DashboardUrl().Match(url);
                Assert.True(match.Success, $"{where}: '{url}' is not a /d/<uid>/<slug>?... link");
                var uid = match.Groups["uid"].Value;
                Assert.True(dashboards.TryGetValue(uid, out var target), $"{where}: no dashboard has uid '{uid}'");
                var variables = target!.Variables.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
                foreach (var parameter in match.Groups["query"].Value.Split('&', StringSplitOptions.RemoveEmptyEntries))
                {
                    var name = parameter.Split('=')[0];
                    if (name.StartsWith("var-", StringComparison.Ordinal))
                    {
                        Assert.True(variables.Contains(name[4..]), $"{where}: {uid} has no variable '{name[4..]}'");
                    }
                    else
                    {
                        Assert.True(LinkBuiltIns.Contains(name.Trim('$', '{', '}')), $"{where}: unexpected parameter '{parameter}'");
                    }
                }
            }
        }

        Assert.True(count >= 5, $"only {count} data links found");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Data_links_use_columns_and_labels_the_panel_queries_return(string file)
    {
        var dashboard = DashboardCatalog.Load(file);
        foreach (var (panel, title, url) in dashboard.DataLinks)
        {
            var queries = string.Join('\n', dashboard.Queries.Where(q => q.Kind == DashboardQueryKind.PanelTarget && q.Owner == panel).Select(q => q.Query));
            foreach (Match reference in LinkReference().Matches(url + " " + title))
            {
                var name = reference.Groups["name"].Value;
                var kind = reference.Groups["kind"].Value;

                // Labels are the GROUP BY tags of time series; data fields are table columns: tags grouped by, fields,
                // or the tag argument of top().
                var found = kind == "__field.labels"
                    ? Regex.IsMatch(queries, $"GROUP BY[^\\n]*\"{name}\"")
                    : queries.Contains($"\"{name}\"", StringComparison.Ordinal);
                Assert.True(found, $"{file} / panel \"{panel}\" / link \"{title}\": ${{{kind}.{name}}} is not returned by the panel's queries");
            }
        }
    }

    [Fact]
    public void Campus_building_room_and_sensor_are_linked_top_down()
    {
        var links = DashboardCatalog.LoadAll().SelectMany(d => d.DataLinks.Select(l => (From: d.Uid, l.Url))).ToList();

        // campus → building (its rooms), building → room (its sensors), room → sensor.
        Assert.Contains(links, l => l.From == "campus-overview" && l.Url.Contains("/d/campus-occupancy-comfort/", StringComparison.Ordinal) && l.Url.Contains("var-building=", StringComparison.Ordinal));
        Assert.Contains(links, l => l.From == "campus-occupancy-comfort" && l.Url.Contains("/d/campus-sensor/", StringComparison.Ordinal) && l.Url.Contains("var-room=", StringComparison.Ordinal));
        Assert.Contains(links, l => l.From == "campus-sensor" && l.Url.Contains("/d/campus-sensor/", StringComparison.Ordinal) && l.Url.Contains("var-sensor=", StringComparison.Ordinal));
    }

    [Fact]
    public void The_sensor_dashboard_shows_raw_readings_roll_ups_status_and_alerts_of_one_sensor()
    {
        var dashboard = DashboardCatalog.Load("sensor.json");
        var sensor = Assert.Single(dashboard.Variables, v => v.Name == "sensor");
        Assert.False(sensor.Multi || sensor.IncludeAll, "$sensor must name exactly one sensor");

        foreach (var source in new[] { "\"telemetry\"", "\"${long_rp}\".\"telemetry_1m\"", "\"${long_rp}\".\"telemetry_1h\"", "\"device_status\"", "\"${long_rp}\".\"alerts\"" })
        {
            Assert.Contains(dashboard.Queries, q => q.Kind == DashboardQueryKind.PanelTarget
                && q.Query.Contains($"FROM {source} WHERE \"sensor\" = '$sensor'", StringComparison.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void No_query_selects_by_a_room_name(string file)
    {
        foreach (var query in DashboardCatalog.Load(file).Queries)
        {
            Assert.DoesNotMatch("\"room\"\\s*(=|!=|=~)\\s*('|/\\^?[a-z])", query.Query);
        }
    }

    [Fact]
    public void Active_alerts_are_not_limited_in_time_and_show_the_raise_time()
    {
        var panel = Assert.Single(DashboardCatalog.Load("alerts.json").Panels, p => (string?)p["title"] == "Active alerts");
        var targets = panel["targets"]!.AsArray().OfType<JsonObject>().ToDictionary(t => (string?)t["refId"] ?? "", t => (string?)t["query"] ?? "");

        foreach (var (refId, query) in targets)
        {
            Assert.DoesNotContain("now()", query, StringComparison.Ordinal);
            Assert.DoesNotContain("$timeFilter", query, StringComparison.Ordinal);
            Assert.Contains("\"alert_id\"", query, StringComparison.Ordinal);
        }

        Assert.Contains("WHERE \"active\" = 1", targets["A"], StringComparison.Ordinal);
        Assert.Contains("\"event\" = 'raised'", targets["B"], StringComparison.Ordinal);

        // B's time (the raise) becomes "since" once the two tables are joined on alert_id.
        var transformations = panel["transformations"]!.AsArray().OfType<JsonObject>().ToList();
        var join = Assert.Single(transformations, t => (string?)t["id"] == "joinByField");
        Assert.Equal("alert_id", (string?)join["options"]?["byField"]);
        Assert.Equal("inner", (string?)join["options"]?["mode"]);
        var organize = Assert.Single(transformations, t => (string?)t["id"] == "organize");
        Assert.Equal("since", (string?)organize["options"]?["renameByName"]?["Time 2"]);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Long_retention_series_are_read_through_the_long_policy_variable_and_raw_ones_without(string file)
    {
        var dashboard = DashboardCatalog.Load(file);
        var count = 0;
        foreach (var query in dashboard.Queries)
        {
            foreach (Match source in MeasurementSource().Matches(query.Query))
            {
                count++;
                var policy = source.Groups["rp"].Value;
                var measurement = source.Groups["m"].Value;
                if (IsLongRetention(measurement))
                {
                    // Written to Influx:LongRetentionPolicy (1.x) / the long bucket's DBRP mapping (2.x): the default
                    // policy of the database has none of it.
                    Assert.True(policy == "${long_rp}", $"{query}: reads \"{measurement}\" from {(policy.Length == 0 ? "the default policy" : $"policy '{policy}'")}, not \"${{long_rp}}\".\"{measurement}\"");
                }
                else
                {
                    Assert.True(policy.Length == 0, $"{query}: reads the raw measurement \"{measurement}\" from policy '{policy}'");
                }
            }

            if (query.Query.Contains("${long_rp}", StringComparison.Ordinal))
            {
                var variable = Assert.Single(dashboard.Variables, v => v.Name == "long_rp");
                Assert.Equal("constant", variable.Type);
            }
        }

        Assert.True(count > 0, $"{file}: no FROM clause found");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_dashboard_has_a_panel_on_the_hourly_or_daily_series_for_long_ranges(string file)
    {
        var dashboard = DashboardCatalog.Load(file);

        Assert.Contains(dashboard.Queries, q => q.Kind == DashboardQueryKind.PanelTarget
            && MeasurementSource().Matches(q.Query).Any(m => m.Groups["rp"].Value == "${long_rp}" && ReportSeries().IsMatch(m.Groups["m"].Value)));
    }

    [Fact]
    public void The_long_policy_variable_is_a_hidden_constant_before_the_variables_that_use_it()
    {
        foreach (var dashboard in DashboardCatalog.LoadAll())
        {
            var nodes = dashboard.VariableNodes.ToList();
            var index = nodes.FindIndex(v => (string?)v["name"] == "long_rp");
            Assert.True(index >= 0, $"{dashboard.Uid}: no long_rp variable");
            Assert.Equal("constant", (string?)nodes[index]["type"]);
            Assert.Equal(2, (int?)nodes[index]["hide"]);
            Assert.Equal((string?)nodes[index]["query"], (string?)nodes[index]["current"]?["value"]);
            for (var i = 0; i < index; i++)
            {
                Assert.DoesNotContain("long_rp", (string?)nodes[i]["query"] ?? "", StringComparison.Ordinal);
            }
        }
    }

    /// <summary>What the service writes to the long-retention destination: <see cref="SeriesLines.LongRetention"/> and the
    /// hourly/daily report series (<c>*_1h</c>, <c>*_1d</c>).</summary>
    static bool IsLongRetention(string measurement) => SeriesLines.LongRetention.Contains(measurement) || ReportSeries().IsMatch(measurement);

    static YamlNode LoadYaml(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return stream.Documents[0].RootNode;
    }

    [GeneratedRegex(@"FROM\s+(?:""(?<rp>[^""]+)""\.)?""(?<m>\w+)""")]
    private static partial Regex MeasurementSource();

    [GeneratedRegex(@"^\w+_1[hd]$")]
    private static partial Regex ReportSeries();

    [GeneratedRegex(@"tz\([^)]*\)", RegexOptions.IgnoreCase)]
    private static partial Regex TzClause();

    [GeneratedRegex(@"^/d/(?<uid>[A-Za-z0-9_-]+)/[a-z0-9-]+(\?(?<query>.*))?$")]
    private static partial Regex DashboardUrl();

    [GeneratedRegex(@"\$\{(?<kind>__data\.fields|__field\.labels)\.(?<name>\w+)\}")]
    private static partial Regex LinkReference();
}
