namespace Telemetry.IntegrationTests.EndToEnd;

[Collection(ServiceOnV2ApiFixture.CollectionName)]
public sealed class V2ApiEndToEndTests(ServiceOnV2ApiFixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Readings_written_through_InfluxDB_Client_are_stored_exactly_once()
    {
        var runId = $"v2-{Guid.NewGuid():N}"[..12];
        var sent = await DeviceLoad.PublishAsync(fixture.Service, runId, devices: 10, perDevice: 100, Ct);
        Assert.Equal(1000, sent.Count);

        // VictoriaMetrics stores line protocol as <measurement>_<field>; it was started without deduplication,
        // so a reading written twice would show up twice.
        var series = await fixture.Victoria.WaitForExportAsync(
            $"{{__name__=\"telemetry_temperature\",sensor=~\"{runId}-.*\"}}",
            found => found.Sum(s => s.Values.Count) >= sent.Count,
            TimeSpan.FromSeconds(30), Ct);
        var stored = series.SelectMany(s => s.Timestamps.Zip(s.Values, (ts, v) => new SentReading(
            s.Label("building")!, s.Label("room")!, s.Label("sensor")!, ts, v))).ToList();

        Assert.Equal(
            sent.OrderBy(r => r.Sensor, StringComparer.Ordinal).ThenBy(r => r.TimestampMs),
            stored.OrderBy(r => r.Sensor, StringComparer.Ordinal).ThenBy(r => r.TimestampMs));
    }
}
