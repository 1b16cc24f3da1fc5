using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Telemetry.Service.TechnicianConsole;
using Telemetry.Tests.Dashboards;

namespace Telemetry.UnitTests.Dashboards;

/// <summary>
/// The dashboards' links to the technician console: the alert tables link each row to
/// <c>${console_url}/console/alerts/${__data.fields.alert_id}</c>, the console's page of that alert, and
/// <c>console_url</c> is a hidden constant holding the URL <c>./run.sh</c> serves the console at.
/// </summary>
public sealed partial class ConsoleLinkTests
{
    const string ConsoleLink = "${console_url}" + ConsoleEndpoints.AlertPagePrefix + "${__data.fields.alert_id}";

    [Theory]
    [InlineData("alerts.json", "Active alerts")]
    [InlineData("alerts.json", "Alert history")]
    [InlineData("sensor.json", "Alerts of the sensor")]
    public void An_alert_table_links_each_alert_to_its_console_page(string file, string panel)
    {
        var dashboard = DashboardCatalog.Load(file);

        Assert.Contains(dashboard.DataLinks, l => l.Panel == panel && l.Url == ConsoleLink);
        var table = dashboard.Panels.Single(p => (string?)p["title"] == panel);
        Assert.Equal("table", (string?)table["type"]);
        var queries = string.Join('\n', table["targets"]!.AsArray().OfType<JsonObject>().Select(t => (string?)t["query"]));
        Assert.Contains("\"alert_id\"", queries, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_dashboard_linking_to_the_console_has_console_url_as_a_hidden_constant_at_run_sh_s_address()
    {
        var expected = $"http://127.0.0.1:{RunShHttpPort()}";
        var linking = DashboardCatalog.LoadAll().Where(d => d.DataLinks.Any(l => l.Url.Contains("${console_url}", StringComparison.Ordinal))).ToList();
        Assert.Equal(["campus-alerts", "campus-sensor"], linking.Select(d => d.Uid).Order(StringComparer.Ordinal));
        foreach (var dashboard in linking)
        {
            var variable = dashboard.Root["templating"]!["list"]!.AsArray().OfType<JsonObject>().Single(v => (string?)v["name"] == "console_url");
            Assert.Equal("constant", (string?)variable["type"]);
            Assert.Equal(2, (int?)variable["hide"]);
            Assert.Equal(expected, (string?)variable["query"]);
            Assert.Equal(expected, (string?)variable["current"]?["value"]);
            Assert.False(expected.EndsWith('/'), "a trailing slash would make //console");
        }
    }

    [Fact]
    public void The_console_path_of_an_alert_id_is_the_page_route_with_each_segment_escaped()
    {
        Assert.Equal("/console/alerts/chem-lab2-freezer1/freezer-fault/1764790000000", ConsoleEndpoints.AlertPath("chem-lab2-freezer1/freezer-fault/1764790000000"));
        Assert.Equal("/console/alerts/lab%201%20freezer/too%23warm/1", ConsoleEndpoints.AlertPath("lab 1 freezer/too#warm/1"));
    }

    static string RunShHttpPort()
    {
        var runSh = File.ReadAllText(Path.Combine(DashboardCatalog.RepositoryRoot, "run.sh"));
        var match = HttpPort().Match(runSh);
        Assert.True(match.Success, "run.sh no longer sets HTTP_PORT=\"${HTTP_PORT:-<port>}\"");
        return match.Groups["port"].Value;
    }

    [GeneratedRegex(@"HTTP_PORT=""\$\{HTTP_PORT:-(?<port>\d+)\}""")]
    private static partial Regex HttpPort();
}
