using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Reports;

/// <summary>
/// InfluxDB 1.6 (report series in the retention policy <c>long</c>, as run.sh sets it up) and the service with reports on short settings (1 s tick and settle, 200 ms mark flush), reading a
/// small registry written here: three buildings, each with a mains energy meter (<c>power</c> kW and <c>energy</c>
/// kWh register), two with a room holding an occupancy sensor. Each test uses its own building, so they are independent.
/// <para>
/// The campus time zone is Europe/Berlin unless it is just past local midnight there (then Asia/Tokyo): the live test
/// needs the last full UTC hour inside today's local date, and both zones move by whole hours only.
/// </para>
/// </summary>
public sealed class ReportFixture : IAsyncLifetime
{
    public const string CollectionName = "reports";
    public const string Database = "campus";
    public const string LongPolicy = "long";

    InfluxDbServer? influx;
    TelemetryServiceHost? service;
    string? registryDirectory;

    public InfluxDbServer Influx => influx ?? throw new InvalidOperationException("not started");

    public TelemetryServiceHost Service => service ?? throw new InvalidOperationException("not started");

    public TimeZoneInfo Zone { get; } = ChooseZone(DateTimeOffset.UtcNow);

    static TimeZoneInfo ChooseZone(DateTimeOffset now)
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        return TimeZoneInfo.ConvertTime(now, berlin).Hour >= 3 ? berlin : TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo");
    }

    string Registry => $$"""
        campus:
          id: rpt
          name: Report campus
          timezone: {{Zone.Id}}
        unregistered: accept
        kinds:
          energy-meter:
            interval: 60s
            metrics:
              power: { unit: "kW", rollup: power }
              energy: { unit: "kWh", rollup: energy }
          occupancy:
            interval: 60s
            metrics:
              people: { unit: "count", rollup: people }
        buildings:
          - id: late
            name: Late upload
            rooms:
              - id: plant
                name: Plant room
                type: plant
                capacity: 0
                sensors:
                  - { id: late-mains, kind: energy-meter }
              - id: late-r1
                name: Room 1
                type: classroom
                capacity: 20
                sensors:
                  - { id: late-occ, kind: occupancy }
          - id: reset
            name: Meter reset
            rooms:
              - id: plant
                name: Plant room
                type: plant
                capacity: 0
                sensors:
                  - { id: reset-mains, kind: energy-meter }
          - id: live
            name: Live data
            rooms:
              - id: plant
                name: Plant room
                type: plant
                capacity: 0
                sensors:
                  - { id: live-mains, kind: energy-meter }
              - id: live-r1
                name: Room 1
                type: office
                capacity: 4
                sensors:
                  - { id: live-occ, kind: occupancy }

        """;

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        try
        {
            influx = await InfluxDbServer.StartAsync(ct);
            await influx.CreateDatabaseAsync(Database, ct);
            // As run.sh: report series go to a retention policy of their own, raw readings stay in the default one.
            await influx.QueryAsync(null, $"CREATE RETENTION POLICY {InfluxDbServer.QuoteIdentifier(LongPolicy)} ON {InfluxDbServer.QuoteIdentifier(Database)} DURATION 0s REPLICATION 1", ct);
            registryDirectory = Directory.CreateTempSubdirectory("telemetry-it-registry-").FullName;
            var registryPath = Path.Combine(registryDirectory, "campus.yaml");
            await File.WriteAllTextAsync(registryPath, Registry, ct);
            service = await TelemetryServiceHost.StartAsync(
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", $"--Influx:Database={Database}", $"--Influx:LongRetentionPolicy={LongPolicy}",
                $"--Campus:RegistryPath={registryPath}",
                "--Reports:Interval=00:00:01",
                "--Reports:Settle=00:00:01",
                "--Reports:MarkFlushInterval=00:00:00.200",
            ], ct);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>The local day holding <paramref name="instant"/>: its UTC start and end.</summary>
    public (DateTimeOffset Start, DateTimeOffset End) DayOf(DateTimeOffset instant)
    {
        var date = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, Zone).DateTime);
        return (LocalToUtc(date, 0), LocalToUtc(date.AddDays(1), 0));
    }

    /// <summary>The UTC instant of a local wall-clock hour (whole-hour zones; the hour must exist).</summary>
    public DateTimeOffset LocalToUtc(DateOnly date, int hour)
    {
        var local = date.ToDateTime(new TimeOnly(hour, 0));
        while (Zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }

        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, Zone), TimeSpan.Zero);
    }

    /// <summary>Publishes readings of one sensor as batches (JSON arrays, QoS 1); every PUBACK must be a success.</summary>
    public async Task PublishAsync(string building, string room, string sensor, IEnumerable<(long Ms, Dictionary<string, double> Values)> readings, CancellationToken ct)
    {
        using var client = await Service.ConnectAsync($"{sensor}-{Guid.NewGuid():N}"[..30], cancellationToken: ct);
        foreach (var batch in readings.Chunk(500))
        {
            var payload = new StringBuilder("[");
            foreach (var (ms, values) in batch)
            {
                payload.Append(payload.Length > 1 ? ",{" : "{").Append(CultureInfo.InvariantCulture, $"\"ts\":{ms}");
                foreach (var (name, value) in values)
                {
                    payload.Append(CultureInfo.InvariantCulture, $",\"{name}\":{value:R}");
                }

                payload.Append('}');
            }

            payload.Append(']');
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic($"campus/{building}/{room}/{sensor}/telemetry")
                .WithPayload(Encoding.UTF8.GetBytes(payload.ToString()))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build(), ct);
            Assert.True(result.IsSuccess, $"{sensor}: {result.ReasonCode} {result.ReasonString}");
        }

        await client.DisconnectAsync(cancellationToken: ct);
    }

    /// <summary>Every point of <paramref name="measurement"/> (in the long-retention policy) at <paramref name="time"/> whose tag matches, as column → value rows.</summary>
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, System.Text.Json.JsonElement>>> PointsAsync(
        string measurement, string tag, string value, DateTimeOffset time, CancellationToken ct)
    {
        var series = await Influx.QueryAsync(Database,
            $"SELECT * FROM {InfluxDbServer.QuoteIdentifier(LongPolicy)}.{InfluxDbServer.QuoteIdentifier(measurement)} WHERE {InfluxDbServer.QuoteIdentifier(tag)} = '{value}' AND time = {time.ToUnixTimeMilliseconds()}ms",
            ct);
        return [.. series.SelectMany(s => Enumerable.Range(0, s.Values.Count)
            .Select(i => (IReadOnlyDictionary<string, System.Text.Json.JsonElement>)s.Columns.Select((c, k) => (c, v: s.Values[i][k]))
                .Where(p => p.v.ValueKind != System.Text.Json.JsonValueKind.Null)
                .ToDictionary(p => p.c, p => p.v, StringComparer.Ordinal)))];
    }

    public async ValueTask DisposeAsync()
    {
        if (service is not null)
        {
            await service.DisposeAsync();
            service = null;
        }

        if (influx is not null)
        {
            await influx.DisposeAsync();
            influx = null;
        }

        if (registryDirectory is not null)
        {
            Directory.Delete(registryDirectory, recursive: true);
            registryDirectory = null;
        }
    }
}

[CollectionDefinition(ReportFixture.CollectionName)]
public sealed class ReportCollection : ICollectionFixture<ReportFixture>;
