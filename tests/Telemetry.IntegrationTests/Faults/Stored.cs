using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>Reads back what a <see cref="SteadyLoad"/> run left in InfluxDB and checks it against what was acknowledged.</summary>
public static class Stored
{
    public static async Task<IReadOnlyList<(string Sensor, long Ts)>> ReadingsAsync(InfluxDbServer influx, string runId, CancellationToken ct)
    {
        var series = await influx.QueryAsync("campus", $"SELECT temperature, sensor FROM telemetry WHERE sensor =~ /^{runId}-/", ct);
        return [.. series.SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => (s.Get(i, "sensor").GetString()!, s.Get(i, "time").GetInt64())))];
    }

    /// <summary>
    /// Waits (polling, with a deadline) until every acknowledged reading is in InfluxDB, then checks: all acknowledged
    /// readings are there, each once, and nothing is there that was never sent.
    /// </summary>
    public static async Task AssertEveryAcknowledgedReadingStoredOnceAsync(InfluxDbServer influx, string runId, SteadyLoad load, TimeSpan within, CancellationToken ct)
    {
        var acked = load.AcknowledgedReadings;
        var stored = await Poll.UntilAsync(
            $"every acknowledged reading of {runId} in InfluxDB",
            () => ReadingsAsync(influx, runId, ct),
            found => acked.IsSubsetOf(found),
            within,
            show: found => $"{acked.Except(found).Count()} of {acked.Count} acknowledged readings are missing, e.g. {string.Join(", ", acked.Except(found).Take(5))}",
            cancellationToken: ct);

        Assert.Equal(stored.Count, stored.Distinct().Count());
        var neverSent = stored.Except(load.AttemptedReadings).Take(5).ToList();
        Assert.True(neverSent.Count == 0, $"InfluxDB holds readings that were never sent: {string.Join(", ", neverSent)}");
    }

    /// <summary>Sum of a Prometheus metric over all its label sets, from <c>/metrics</c>.</summary>
    public static async Task<double> MetricAsync(HttpClient http, string name, CancellationToken ct, string? label = null)
    {
        var text = await http.GetStringAsync(new Uri("metrics", UriKind.Relative), ct);
        return PrometheusText.Sum(text, name, label);
    }
}
