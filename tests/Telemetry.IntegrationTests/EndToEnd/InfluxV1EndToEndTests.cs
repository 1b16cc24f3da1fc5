using System.Net;
using System.Text.Json;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.EndToEnd;

[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class InfluxV1EndToEndTests(ServiceOnInfluxV1Fixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Readings_from_ten_concurrent_devices_are_stored_exactly_once_with_tags_fields_and_timestamps()
    {
        var runId = $"v1-{Guid.NewGuid():N}"[..12];
        var sent = await DeviceLoad.PublishAsync(fixture.Service, runId, devices: 10, perDevice: 100, Ct);
        Assert.Equal(1000, sent.Count);

        // A PUBACK means durable in the spool; the drainer moves it into InfluxDB shortly after.
        var series = await Poll.UntilAsync(
            $"all {sent.Count} readings of run {runId} in InfluxDB",
            () => fixture.Influx.QueryAsync(ServiceOnInfluxV1Fixture.Database,
                $"SELECT temperature, building, room, sensor FROM telemetry WHERE sensor =~ /^{runId}-/", Ct),
            found => found.Sum(s => s.Values.Count) >= sent.Count, cancellationToken: Ct);
        var rows = series.SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => new SentReading(
            s.Get(i, "building").GetString()!,
            s.Get(i, "room").GetString()!,
            s.Get(i, "sensor").GetString()!,
            s.Get(i, "time").GetInt64(),
            s.Get(i, "temperature").GetDouble()))).ToList();

        Assert.Equal(sent.Count, rows.Count);
        Assert.Equal(
            sent.OrderBy(r => r.Sensor, StringComparer.Ordinal).ThenBy(r => r.TimestampMs),
            rows.OrderBy(r => r.Sensor, StringComparer.Ordinal).ThenBy(r => r.TimestampMs));
    }

    [Fact]
    public async Task The_sensor_api_serves_the_last_reading_from_the_grain()
    {
        var runId = $"api-{Guid.NewGuid():N}"[..12];
        var sent = await DeviceLoad.PublishAsync(fixture.Service, runId, devices: 1, perDevice: 3, Ct);
        var last = sent.MaxBy(r => r.TimestampMs)!;

        using var response = await fixture.Service.Http.GetAsync(new Uri($"api/sensors/{last.Sensor}", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var root = doc.RootElement;
        Assert.Equal(last.Sensor, root.GetProperty("sensor").GetString());
        Assert.Equal(last.Building, root.GetProperty("building").GetString());
        Assert.Equal(last.Room, root.GetProperty("room").GetString());
        Assert.Equal(last.Temperature, root.GetProperty("values").GetProperty("temperature").GetDouble());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(last.TimestampMs), root.GetProperty("lastReadingAt").GetDateTimeOffset());
        Assert.Equal(3, root.GetProperty("readings").GetInt64());

        using var unknown = await fixture.Service.Http.GetAsync(new Uri($"api/sensors/{runId}-never", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Readiness_reports_broker_silo_and_influxdb()
    {
        using var live = await fixture.Service.Http.GetAsync(new Uri("health/live", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);

        using var ready = await fixture.Service.Http.GetAsync(new Uri("health/ready", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var doc = JsonDocument.Parse(await ready.Content.ReadAsStringAsync(Ct));
        var checks = doc.RootElement.GetProperty("checks");
        foreach (var name in new[] { "broker", "silo", "spool", "influxdb" })
        {
            Assert.Equal("Healthy", checks.GetProperty(name).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task Metrics_are_exposed_for_prometheus()
    {
        await DeviceLoad.PublishAsync(fixture.Service, $"m-{Guid.NewGuid():N}"[..10], devices: 1, perDevice: 1, Ct);
        var text = await Poll.UntilAsync(
            "telemetry_influx_lines_written in /metrics",
            () => fixture.Service.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct),
            t => t.Contains("telemetry_influx_lines_written", StringComparison.Ordinal), cancellationToken: Ct);
        Assert.Contains("telemetry_mqtt_messages_accepted", text, StringComparison.Ordinal);
        Assert.Contains("telemetry_influx_lines_written", text, StringComparison.Ordinal);
        Assert.Contains("telemetry_spool_bytes", text, StringComparison.Ordinal);
    }
}
