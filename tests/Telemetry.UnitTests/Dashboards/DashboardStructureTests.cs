using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Telemetry.Tests.Dashboards;
using YamlDotNet.RepresentationModel;

namespace Telemetry.UnitTests.Dashboards;

/// <summary>The Grafana provisioning tree checked without Grafana: JSON shape, ids, datasource references, variables, InfluxQL only.</summary>
public sealed partial class DashboardStructureTests
{
    static readonly string[] ExpectedFiles = ["alerts.json", "campus-overview.json", "device-health.json", "energy.json", "occupancy-comfort.json", "sensor.json"];

    // Grafana's own variables and the InfluxDB datasource's macros; everything else must be a dashboard variable.
    static readonly HashSet<string> BuiltIns = new(StringComparer.Ordinal)
    {
        "timeFilter", "interval", "__interval", "__interval_ms", "__from", "__to", "__range", "__range_s", "__range_ms",
    };

    public static TheoryData<string> Files() => new(ExpectedFiles);

    [Fact]
    public void The_dashboards_are_there()
    {
        var files = DashboardCatalog.DashboardPaths.Select(Path.GetFileName).ToArray();
        Assert.Equal(ExpectedFiles, files);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Dashboard_is_a_json_object_with_the_expected_settings(string file)
    {
        var dashboard = DashboardCatalog.Load(file);

        Assert.Matches("^campus-[a-z-]+$", dashboard.Uid);
        Assert.False(string.IsNullOrWhiteSpace(dashboard.Title), $"{file}: no title");
        var schemaVersion = (int?)dashboard.Root["schemaVersion"];
        Assert.True(schemaVersion is >= 36 and <= 41, $"{file}: schemaVersion {schemaVersion} outside 36..41");
        Assert.Equal("now-24h", (string?)dashboard.Root["time"]?["from"]);
        Assert.Equal("now", (string?)dashboard.Root["time"]?["to"]);
        Assert.Equal("30s", (string?)dashboard.Root["refresh"]);
        Assert.Null(dashboard.Root["id"]);
    }

    [Fact]
    public void Dashboard_uids_and_titles_are_unique()
    {
        var dashboards = DashboardCatalog.LoadAll();

        Assert.Equal(dashboards.Count, dashboards.Select(d => d.Uid).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(dashboards.Count, dashboards.Select(d => d.Title).Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Panel_ids_are_unique_and_every_data_panel_has_a_target(string file)
    {
        var dashboard = DashboardCatalog.Load(file);
        var ids = dashboard.Panels.Select(p => (int?)p["id"]).ToList();

        Assert.DoesNotContain(null, ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        foreach (var panel in dashboard.Panels)
        {
            var type = (string?)panel["type"];
            Assert.NotNull(panel["gridPos"]);
            if (type is "row" or "text")
            {
                continue;
            }

            var targets = panel["targets"]?.AsArray().OfType<JsonObject>().ToList() ?? [];
            Assert.True(targets.Count > 0, $"{file}: panel \"{panel["title"]}\" has no target");
            Assert.Equal(targets.Count, targets.Select(t => (string?)t["refId"]).Distinct(StringComparer.Ordinal).Count());
            foreach (var target in targets)
            {
                Assert.True((bool?)target["rawQuery"] == true, $"{file}: \"{panel["title"]}\" {target["refId"]} is not a raw query");
                Assert.False(string.IsNullOrWhiteSpace((string?)target["query"]), $"{file}: \"{panel["title"]}\" {target["refId"]} has no query text");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_datasource_reference_is_the_provisioned_influxdb(string file)
    {
        var provisionedUid = ProvisionedDatasourceUid();
        Assert.Equal(DashboardCatalog.DatasourceUid, provisionedUid);
        var dashboard = DashboardCatalog.Load(file);

        var references = new List<(string Where, JsonNode? Reference)>();
        foreach (var panel in dashboard.Panels.Where(p => (string?)p["type"] is not ("row" or "text")))
        {
            references.Add(($"panel \"{panel["title"]}\"", panel["datasource"]));
            references.AddRange(panel["targets"]?.AsArray().OfType<JsonObject>().Select(t => ($"panel \"{panel["title"]}\" target {t["refId"]}", t["datasource"])) ?? []);
        }

        references.AddRange(dashboard.Annotations.Select(a => ($"annotation \"{a["name"]}\"", a["datasource"])));
        references.AddRange(dashboard.VariableNodes.Where(v => (string?)v["type"] == "query").Select(v => ($"variable {v["name"]}", v["datasource"])));

        Assert.NotEmpty(references);
        foreach (var (where, reference) in references)
        {
            Assert.True(reference is JsonObject, $"{file}: {where} has no datasource object");
            Assert.Equal("influxdb", (string?)reference["type"]);
            Assert.True((string?)reference["uid"] == provisionedUid, $"{file}: {where} points at datasource uid '{reference["uid"]}', not '{provisionedUid}'");
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Queries_are_influxql_not_flux(string file)
    {
        var text = File.ReadAllText(Path.Combine(DashboardCatalog.DashboardsDirectory, file));
        Assert.DoesNotContain("from(bucket", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("|>", text, StringComparison.Ordinal);
        Assert.DoesNotMatch("\"language\"\\s*:\\s*\"flux\"", text);

        var queries = DashboardCatalog.Load(file).Queries;
        Assert.NotEmpty(queries);
        foreach (var query in queries)
        {
            Assert.Matches("^(SELECT|SHOW) ", query.Query);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_variable_a_query_uses_is_defined(string file)
    {
        var dashboard = DashboardCatalog.Load(file);
        var defined = dashboard.Variables.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);

        foreach (var query in dashboard.Queries)
        {
            foreach (var name in VariableNames(query.Query))
            {
                Assert.True(defined.Contains(name) || BuiltIns.Contains(name), $"{query}: uses ${name}, which is neither a dashboard variable nor a Grafana built-in");
            }
        }
    }

    [Fact]
    public void Variable_references_are_found_in_every_syntax()
    {
        var names = VariableNames("SELECT x FROM m WHERE a =~ /^$building$/ AND b = '${room}' AND c = '[[kind]]' AND d = '${sensor:raw}' AND $timeFilter").ToList();
        Assert.Equal(["building", "room", "kind", "sensor", "timeFilter"], names);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Building_and_room_variables_are_multi_value_with_all(string file)
    {
        var dashboard = DashboardCatalog.Load(file);
        var building = Assert.Single(dashboard.Variables, v => v.Name == "building");

        Assert.True(building.Multi && building.IncludeAll);
        Assert.Equal("SHOW TAG VALUES FROM \"${long_rp}\".\"building_state\" WITH KEY = \"building\"", building.Query);
        var room = dashboard.Variables.SingleOrDefault(v => v.Name == "room");
        if (room is not null)
        {
            Assert.True(room.Multi && room.IncludeAll);
            Assert.Contains("WHERE \"building\" =~ /^$building$/", room.Query, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Alert_annotations_come_from_raised_events(string file)
    {
        var annotation = Assert.Single(DashboardCatalog.Load(file).Annotations);

        Assert.True((bool?)annotation["enable"]);
        var query = (string?)annotation["query"] ?? "";
        Assert.Contains("FROM \"${long_rp}\".\"alerts\"", query, StringComparison.Ordinal);
        Assert.Contains("\"event\" = 'raised'", query, StringComparison.Ordinal);
        Assert.Contains("$timeFilter", query, StringComparison.Ordinal);

        // A region from the raise (the row's time) to the clear: the field the clear adds to the raised point.
        Assert.Contains("\"cleared_at_ms\"", query, StringComparison.Ordinal);
        Assert.Equal("cleared_at_ms", (string?)annotation["timeEndColumn"]);
    }

    [Fact]
    public void Panels_use_the_units_of_their_quantities()
    {
        var units = DashboardCatalog.LoadAll()
            .SelectMany(d => d.Panels)
            .Select(p => (string?)p["fieldConfig"]?["defaults"]?["unit"])
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);

        foreach (var unit in new[] { "kwatt", "kwatth", "celsius", "ppm", "percent", "humidity", "dBm" })
        {
            Assert.Contains(unit, units);
        }
    }

    [Fact]
    public void Comfort_panels_carry_the_comfort_bands_as_thresholds()
    {
        var dashboard = DashboardCatalog.Load("occupancy-comfort.json");

        Assert.Equal([20.0, 24.0], ThresholdValues(dashboard, "celsius"));
        Assert.Equal([1000.0], ThresholdValues(dashboard, "ppm"));
        Assert.Equal([30.0, 60.0], ThresholdValues(dashboard, "humidity"));
    }

    [Fact]
    public void Datasource_yaml_takes_connection_and_secrets_from_the_environment()
    {
        var datasource = Assert.Single(Sequence(YamlRoot(DashboardCatalog.DatasourceYamlPath), "datasources"));

        Assert.Equal("influxdb", Scalar(datasource, "type"));
        Assert.Equal("proxy", Scalar(datasource, "access"));
        Assert.Equal("${INFLUXDB_URL}", Scalar(datasource, "url"));
        Assert.Equal("${INFLUXDB_USER}", Scalar(datasource, "user"));
        var jsonData = Mapping(datasource, "jsonData");
        Assert.Equal("InfluxQL", Scalar(jsonData, "version"));
        Assert.Equal("${INFLUXDB_DATABASE}", Scalar(jsonData, "dbName"));
        Assert.Equal("Authorization", Scalar(jsonData, "httpHeaderName1"));
        var secure = Mapping(datasource, "secureJsonData");
        Assert.Equal("${INFLUXDB_PASSWORD}", Scalar(secure, "password"));
        Assert.Equal("Token ${INFLUXDB_TOKEN}", Scalar(secure, "httpHeaderValue1"));
    }

    [Fact]
    public void Dashboard_provider_yaml_loads_the_files_into_the_campus_folder()
    {
        var provider = Assert.Single(Sequence(YamlRoot(DashboardCatalog.ProviderYamlPath), "providers"));

        Assert.Equal("file", Scalar(provider, "type"));
        Assert.Equal("Campus", Scalar(provider, "folder"));
        Assert.Equal("/var/lib/grafana/dashboards", Scalar(Mapping(provider, "options"), "path"));
    }

    static string ProvisionedDatasourceUid() =>
        Scalar(Assert.Single(Sequence(YamlRoot(DashboardCatalog.DatasourceYamlPath), "datasources")), "uid");

    static double[] ThresholdValues(DashboardFile dashboard, string unit)
    {
        var panel = Assert.Single(dashboard.Panels, p => (string?)p["fieldConfig"]?["defaults"]?["unit"] == unit);
        return panel["fieldConfig"]!["defaults"]!["thresholds"]!["steps"]!.AsArray()
            .Select(s => s?["value"])
            .OfType<JsonValue>()
            .Select(v => (double)v)
            .ToArray();
    }

    static IEnumerable<string> VariableNames(string query) =>
        VariableReference().Matches(query).Select(m => m.Groups.Cast<Group>().Skip(1).First(g => g.Success).Value);

    // The three syntaxes Grafana's template service recognises: $name, [[name]] / [[name:format]], ${name} / ${name:format}.
    [GeneratedRegex(@"\$(\w+)|\[\[(\w+?)(?::\w+)?\]\]|\$\{(\w+)(?::[^}]+)?\}")]
    private static partial Regex VariableReference();

    static YamlMappingNode YamlRoot(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return Assert.IsType<YamlMappingNode>(Assert.Single(stream.Documents).RootNode);
    }

    static List<YamlMappingNode> Sequence(YamlMappingNode node, string key) =>
        Assert.IsType<YamlSequenceNode>(node.Children[new YamlScalarNode(key)]).Children.Cast<YamlMappingNode>().ToList();

    static YamlMappingNode Mapping(YamlMappingNode node, string key) =>
        Assert.IsType<YamlMappingNode>(node.Children[new YamlScalarNode(key)]);

    static string Scalar(YamlMappingNode node, string key) =>
        Assert.IsType<YamlScalarNode>(node.Children[new YamlScalarNode(key)]).Value ?? "";
}
