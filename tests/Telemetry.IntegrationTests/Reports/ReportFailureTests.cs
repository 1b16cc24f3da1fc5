using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Reports;

/// <summary>When InfluxDB cannot answer the report grain's query, the day stays dirty, and the failure is counted with its reason.</summary>
public sealed class ReportFailureTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    const string Registry = """
        campus: { id: fail, name: Failing, timezone: Europe/Berlin }
        kinds:
          energy-meter:
            interval: 60s
            metrics:
              power: { unit: "kW", rollup: power }
        buildings:
          - id: b1
            name: B1
            rooms:
              - id: plant
                name: Plant
                type: plant
                capacity: 0
                sensors:
                  - { id: b1-mains, kind: energy-meter }

        """;

    [Fact]
    public async Task A_day_whose_query_fails_stays_dirty_and_the_failure_is_counted()
    {
        var folder = Directory.CreateTempSubdirectory("telemetry-it-registry-").FullName;
        try
        {
            var registry = Path.Combine(folder, "campus.yaml");
            await File.WriteAllTextAsync(registry, Registry, Ct);
            await using var influx = await InfluxDbServer.StartAsync(Ct);
            await using var service = await TelemetryServiceHost.StartAsync(
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus", "--Influx:Timeout=00:00:02",
                $"--Campus:RegistryPath={registry}", "--Reports:Interval=00:00:01", "--Reports:Settle=00:00:01",
            ], Ct);

            // InfluxDB goes away; a day asked for cannot be read.
            influx.Process.Stop();
            var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-3).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            using var recompute = await service.Http.PostAsync(new Uri($"api/reports/recompute?from={day}&to={day}", UriKind.Relative), null, Ct);
            Assert.Equal(HttpStatusCode.Accepted, recompute.StatusCode);

            var metrics = await Poll.UntilAsync(
                "a report failure with reason query in /metrics",
                () => service.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct),
                text => PrometheusText.Sum(text, "telemetry_reports_failures_total", "reason=\"query\"") >= 1,
                TimeSpan.FromSeconds(60), every: TimeSpan.FromMilliseconds(250), cancellationToken: Ct);
            Assert.True(PrometheusText.Sum(metrics, "telemetry_reports_failures_total") >= 1, metrics);

            var status = await service.Http.GetFromJsonAsync<JsonElement>(new Uri("api/reports/status", UriKind.Relative), Ct);
            Assert.Contains(day, status.GetProperty("dirtyDays").EnumerateArray().Select(d => d.GetString()));
            Assert.Contains("query", status.GetProperty("lastFailure").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
