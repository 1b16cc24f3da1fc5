using System.Text.Json.Nodes;

namespace Telemetry.Tests.Dashboards;

/// <summary>Where a query sits in a dashboard: a panel target, an annotation or a template variable.</summary>
public enum DashboardQueryKind
{
    PanelTarget,
    Annotation,
    Variable,
}

/// <summary>One InfluxQL query of a dashboard, with enough context to name it in a failure message.</summary>
/// <param name="Dashboard">The dashboard's uid.</param>
/// <param name="Owner">Panel title, annotation name or variable name.</param>
/// <param name="RefId">The target's refId; empty for annotations and variables.</param>
/// <param name="TimeFrom">The panel's relative-time override (<c>timeFrom</c>), e.g. <c>now/d</c> or <c>7d</c>; null for none.</param>
public sealed record DashboardQuery(string Dashboard, DashboardQueryKind Kind, string Owner, string RefId, string Query, string? TimeFrom)
{
    public override string ToString() => Kind switch
    {
        DashboardQueryKind.PanelTarget => $"{Dashboard} / panel \"{Owner}\" / {RefId}",
        DashboardQueryKind.Annotation => $"{Dashboard} / annotation \"{Owner}\"",
        _ => $"{Dashboard} / variable ${Owner}",
    };
}

/// <summary>A template variable as the dashboard defines it.</summary>
public sealed record DashboardVariable(string Name, string Type, string Query, bool Multi, bool IncludeAll);

/// <summary>One dashboard JSON file of <c>dashboards/campus</c>, parsed.</summary>
public sealed class DashboardFile
{
    DashboardFile(string path, JsonObject root)
    {
        Path = path;
        Root = root;
    }

    public string Path { get; }

    public string FileName => System.IO.Path.GetFileName(Path);

    public JsonObject Root { get; }

    public string Uid => (string?)Root["uid"] ?? "";

    public string Title => (string?)Root["title"] ?? "";

    /// <summary>Every panel, including those nested in collapsed rows.</summary>
    public IReadOnlyList<JsonObject> Panels
    {
        get
        {
            var panels = new List<JsonObject>();
            foreach (var panel in Root["panels"]?.AsArray().OfType<JsonObject>() ?? [])
            {
                panels.Add(panel);
                panels.AddRange(panel["panels"]?.AsArray().OfType<JsonObject>() ?? []);
            }

            return panels;
        }
    }

    public IReadOnlyList<JsonObject> Annotations =>
        Root["annotations"]?["list"]?.AsArray().OfType<JsonObject>().ToList() ?? [];

    public IReadOnlyList<JsonObject> VariableNodes =>
        Root["templating"]?["list"]?.AsArray().OfType<JsonObject>().ToList() ?? [];

    public IReadOnlyList<DashboardVariable> Variables =>
        VariableNodes.Select(v => new DashboardVariable(
            (string?)v["name"] ?? "",
            (string?)v["type"] ?? "",
            QueryText(v["query"]),
            (bool?)v["multi"] ?? false,
            (bool?)v["includeAll"] ?? false)).ToList();

    /// <summary>All InfluxQL queries: variables first (in order, as Grafana resolves them), then annotations, then panel targets.</summary>
    public IReadOnlyList<DashboardQuery> Queries
    {
        get
        {
            var queries = new List<DashboardQuery>();
            foreach (var variable in Variables.Where(v => v.Type == "query"))
            {
                queries.Add(new DashboardQuery(Uid, DashboardQueryKind.Variable, variable.Name, "", variable.Query, null));
            }

            foreach (var annotation in Annotations)
            {
                queries.Add(new DashboardQuery(Uid, DashboardQueryKind.Annotation, (string?)annotation["name"] ?? "", "", QueryText(annotation["query"] ?? annotation["target"]?["query"]), null));
            }

            foreach (var panel in Panels)
            {
                foreach (var target in panel["targets"]?.AsArray().OfType<JsonObject>() ?? [])
                {
                    queries.Add(new DashboardQuery(
                        Uid,
                        DashboardQueryKind.PanelTarget,
                        (string?)panel["title"] ?? "",
                        (string?)target["refId"] ?? "",
                        (string?)target["query"] ?? "",
                        (string?)panel["timeFrom"]));
                }
            }

            return queries;
        }
    }

    /// <summary>Every data link of every panel: field defaults, field overrides and panel links, with the panel's title.</summary>
    public IReadOnlyList<(string Panel, string Title, string Url)> DataLinks
    {
        get
        {
            var links = new List<(string, string, string)>();
            foreach (var panel in Panels)
            {
                var title = (string?)panel["title"] ?? "";
                var nodes = new List<JsonNode?> { panel["links"], panel["fieldConfig"]?["defaults"]?["links"] };
                foreach (var rule in panel["fieldConfig"]?["overrides"]?.AsArray().OfType<JsonObject>() ?? [])
                {
                    nodes.AddRange(rule["properties"]?.AsArray().OfType<JsonObject>()
                        .Where(p => (string?)p["id"] == "links").Select(p => p["value"]) ?? []);
                }

                foreach (var link in nodes.OfType<JsonArray>().SelectMany(a => a.OfType<JsonObject>()))
                {
                    links.Add((title, (string?)link["title"] ?? "", (string?)link["url"] ?? ""));
                }
            }

            return links;
        }
    }

    static string QueryText(JsonNode? node) => node switch
    {
        null => "",
        JsonValue value => (string?)value ?? "",
        JsonObject obj => (string?)obj["query"] ?? "",
        _ => "",
    };

    /// <summary>Parses a dashboard file; throws <see cref="InvalidDataException"/> naming the file when it is not a JSON object.</summary>
    public static DashboardFile Load(string path)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {ex.Message}", ex);
        }

        return node is JsonObject root
            ? new DashboardFile(path, root)
            : throw new InvalidDataException($"{path} does not hold a JSON object");
    }
}

/// <summary>The repository's Grafana provisioning tree (<c>dashboards/</c>), found by walking up to <c>Telemetry.sln</c>.</summary>
public static class DashboardCatalog
{
    /// <summary>The uid every panel, target, annotation and variable must point at.</summary>
    public const string DatasourceUid = "campus-influxdb";

    public static string RepositoryRoot { get; } = FindRepositoryRoot(AppContext.BaseDirectory);

    public static string DashboardsDirectory => Path.Combine(RepositoryRoot, "dashboards", "campus");

    public static string DatasourceYamlPath => Path.Combine(RepositoryRoot, "dashboards", "provisioning", "datasources", "influxdb.yaml");

    /// <summary>The demo campus registry that <c>./run.sh</c> and compose start the service with.</summary>
    public static string RegistryPath => Path.Combine(RepositoryRoot, "deploy", "campus.yaml");

    public static string ProviderYamlPath => Path.Combine(RepositoryRoot, "dashboards", "provisioning", "dashboards", "campus.yaml");

    /// <summary>The dashboard files, by file name.</summary>
    public static IReadOnlyList<string> DashboardPaths =>
        Directory.GetFiles(DashboardsDirectory, "*.json").Order(StringComparer.Ordinal).ToList();

    public static IReadOnlyList<DashboardFile> LoadAll() => DashboardPaths.Select(DashboardFile.Load).ToList();

    public static DashboardFile Load(string fileName) => DashboardFile.Load(Path.Combine(DashboardsDirectory, fileName));

    static string FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Telemetry.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Telemetry.sln not found in {start} or any folder above it");
    }
}
