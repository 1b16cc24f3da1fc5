using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.DeviceSim;
using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Scenarios;
using Telemetry.IntegrationTests.Dashboards;
using Telemetry.Tests.Dashboards;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Reports;

/// <summary>
/// The issue's check, end to end on real servers: four weeks of a two-building campus are played by the simulator
/// (with a meter reset) into the service on InfluxDB 1.6 with a long-retention policy; the daily kWh per building from
/// the energy report API, from the daily series in InfluxDB and from a computation of the test's own over the
/// register readings the simulator saw acknowledged agree; a late upload corrects yesterday by replacing its point.
/// </summary>
public sealed class MonthOfCampusTests
{
    const string Database = "campus";
    const string Zone = "Europe/Berlin";
    const string ResetMeter = "bldg-1-plant-energy";
    const string LateMeter = "bldg-2-plant-energy";
    static readonly string[] Buildings = ["bldg-1", "bldg-2"];
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    const string Registry = """
campus: { id: month, name: Month Campus, timezone: Europe/Berlin }
kinds:
  temperature:
    interval: 10m
    metrics: { temperature: { unit: "°C", rollup: temperature } }
  occupancy:
    interval: 10m
    metrics: { people: { unit: "count", rollup: people } }
  energy-meter:
    interval: 10m
    metrics:
      power: { unit: "kW", rollup: power }
      energy: { unit: "kWh", rollup: energy }
buildings:
  - id: bldg-1
    name: One
    rooms:
      - id: r101
        name: Classroom 101
        type: classroom
        capacity: 30
        sensors:
          - { id: bldg-1-r101-temp, kind: temperature }
          - { id: bldg-1-r101-occ, kind: occupancy }
      - id: plant
        name: Plant room
        type: plant
        sensors:
          - { id: bldg-1-plant-energy, kind: energy-meter }
  - id: bldg-2
    name: Two
    rooms:
      - id: r101
        name: Classroom 101
        type: classroom
        capacity: 30
        sensors:
          - { id: bldg-2-r101-temp, kind: temperature }
          - { id: bldg-2-r101-occ, kind: occupancy }
      - id: plant
        name: Plant room
        type: plant
        sensors:
          - { id: bldg-2-plant-energy, kind: energy-meter }
""";

    [Fact]
    public async Task A_month_of_campus_gives_the_same_daily_kWh_in_the_report_the_series_and_an_independent_computation()
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(Zone);
        await using var influx = await InfluxDbServer.StartAsync(Ct);
        await influx.CreateDatabaseAsync(Database, Ct);
        await influx.QueryAsync(Database, $"CREATE RETENTION POLICY \"long\" ON \"{Database}\" DURATION INF REPLICATION 1", Ct);
        var folder = Directory.CreateTempSubdirectory("telemetry-it-month-").FullName;
        var registryPath = Path.Combine(folder, "campus.yaml");
        await File.WriteAllTextAsync(registryPath, Registry, Ct);

        await using var service = await TelemetryServiceHost.StartAsync(
        [
            "--Influx:Api=V1", $"--Influx:Url={influx.Url}", $"--Influx:Database={Database}", "--Influx:LongRetentionPolicy=long",
            $"--Campus:RegistryPath={registryPath}",
            "--Reports:Interval=00:00:01", "--Reports:Settle=00:00:01", "--Reports:MarkFlushInterval=00:00:01", "--Reports:MaxDaysPerTick=40",
        ], Ct);

        // Full local days: from the local midnight 27 days ago to the one 2 days ago (26 days, none of them today's).
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, zone).DateTime);
        var firstDay = today.AddDays(-27);
        var start = LocalMidnight(zone, firstDay);
        var end = LocalMidnight(zone, today.AddDays(-1));
        var simulator = new Simulator(new SimulatorOptions
        {
            Host = "127.0.0.1",
            Port = service.MqttPort,
            Registry = RegistryFile.LoadRegistry(registryPath),
            Interval = TimeSpan.FromMinutes(10),
            Start = start,
            Backfill = end - start,
            ReadingsPerMessage = 100,
            Seed = 14,
            RecordAcknowledgedReadings = true,
            Faults = [new FaultSpec(ResetMeter, FaultType.MeterReset, TimeSpan.FromDays(5) + TimeSpan.FromHours(13), TimeSpan.FromMinutes(1))],
        });
        var summary = await simulator.RunAsync(progress: null, Ct);
        Assert.True(summary.Succeeded, string.Join(", ", summary.Errors.Select(e => $"{e.Key} {e.Value}")));

        // The test's own computation: register differences (a drop is a reset: the new reading counted from zero),
        // each interval shared between local days in proportion to time.
        var expected = new Dictionary<(string Building, DateOnly Day), double>();
        foreach (var building in Buildings)
        {
            var register = summary.Sensors[$"{building}-plant-energy"].AcknowledgedReadings
                .Select(r => (At: r.Timestamp, Kwh: r.Metrics["energy"])).OrderBy(r => r.At).ToList();
            for (var i = 1; i < register.Count; i++)
            {
                var kwh = register[i].Kwh >= register[i - 1].Kwh ? register[i].Kwh - register[i - 1].Kwh : register[i].Kwh;
                Share(expected, building, zone, register[i - 1].At, register[i].At, kwh);
            }
        }

        var days = Enumerable.Range(1, 24).Select(d => firstDay.AddDays(d)).ToList(); // the days with readings on both sides of both midnights
        var resetDay = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(start + TimeSpan.FromDays(5) + TimeSpan.FromHours(13), zone).DateTime);
        Assert.Contains(resetDay, days);

        // The daily series in the long-retention policy, once every day of both buildings is there.
        var from = days[0];
        var to = days[^1];
        var series = await Poll.UntilAsync(
            $"building_1d in \"long\" for {days.Count} days of {Buildings.Length} buildings",
            () => DailyAsync(influx, zone, from, to),
            found => found.Count == days.Count * Buildings.Length && found.Values.All(v => v.Hours >= 23),
            TimeSpan.FromMinutes(3),
            show: found => $"{found.Count} points: " + string.Join(", ", found.Take(6).Select(p => $"{p.Key.Building} {p.Key.Day} {p.Value.Kwh:0.###} kWh/{p.Value.Hours} h")),
            cancellationToken: Ct);

        foreach (var building in Buildings)
        {
            foreach (var day in days)
            {
                var want = expected[(building, day)];
                Assert.True(want > 1, $"{building} {day}: the simulator's meter used only {want} kWh");
                AssertClose(want, series[(building, day)].Kwh, $"building_1d {building} {day}");
            }
        }

        var resetKwh = series[("bldg-1", resetDay)].Kwh;
        var neighbours = new[] { series[("bldg-1", resetDay.AddDays(-1))].Kwh, series[("bldg-1", resetDay.AddDays(1))].Kwh };
        Assert.True(resetKwh > 0 && resetKwh < 2 * neighbours.Max(), $"the reset day has {resetKwh} kWh, the days around it {string.Join(", ", neighbours)}");

        // The energy dashboard's "Energy per day by building" panel, as Grafana would send it for these days.
        var panel = DashboardCatalog.Load("energy.json").Queries.Single(q => q.Owner == "Energy per day by building (long-term)");
        var grafana = new GrafanaInfluxQl(LocalMidnight(zone, from), LocalMidnight(zone, to.AddDays(1)) - TimeSpan.FromMilliseconds(1),
        [
            new GrafanaVariable("long_rp", ["long"]),
            new GrafanaVariable("campus_tz", [Zone]),
            new GrafanaVariable("building", Buildings, Multi: true, IncludeAll: true),
        ]);
        var bars = await influx.QueryAsync(Database, grafana.Interpolate(panel.Query), Ct);
        var barCount = 0;
        foreach (var bar in bars)
        {
            for (var i = 0; i < bar.Values.Count; i++)
            {
                var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(bar.Get(i, "time").GetInt64()), zone).DateTime);
                AssertClose(expected[(bar.Tags["building"], day)], bar.Get(i, "sum").GetDouble(), $"dashboard bar {bar.Tags["building"]} {day}");
                barCount++;
            }
        }

        Assert.Equal(days.Count * Buildings.Length, barCount);

        // The energy report API, by day (JSON) and by month (CSV).
        var report = await service.Http.GetFromJsonAsync<JsonElement>(
            $"api/reports/energy?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}&by=building&period=day", Ct);
        var rows = report.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(days.Count * Buildings.Length, rows.Count);
        foreach (var row in rows)
        {
            var building = row.GetProperty("building").GetString()!;
            var day = DateOnly.ParseExact(row.GetProperty("period").GetString()!, "yyyy-MM-dd", CultureInfo.InvariantCulture);
            AssertClose(expected[(building, day)], row.GetProperty("energy_kwh").GetDouble(), $"report {building} {day}");
        }

        AssertClose(days.Sum(d => Buildings.Sum(b => expected[(b, d)])), report.GetProperty("total_kwh").GetDouble(), "report total");

        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, $"api/reports/energy?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}&by=building&period=month");
        csvRequest.Headers.Accept.ParseAdd("text/csv");
        using var csvResponse = await service.Http.SendAsync(csvRequest, Ct);
        Assert.Equal("text/csv", csvResponse.Content.Headers.ContentType?.MediaType);
        var csv = (await csvResponse.Content.ReadAsStringAsync(Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var header = csv[0].Split(',');
        var (periodAt, buildingAt, kwhAt) = (Array.IndexOf(header, "period"), Array.IndexOf(header, "building"), Array.IndexOf(header, "energy_kwh"));
        foreach (var line in csv.Skip(1).Select(l => l.Split(',')).Where(l => l[periodAt] != "total"))
        {
            var month = line[periodAt];
            var want = days.Where(d => d.ToString("yyyy-MM", CultureInfo.InvariantCulture) == month).Sum(d => expected[(line[buildingAt], d)]);
            AssertClose(want, double.Parse(line[kwhAt], CultureInfo.InvariantCulture), $"CSV {line[buildingAt]} {month}");
        }

        // A late upload: yesterday's readings of bldg-2's meter arrive today, in two halves; the second corrects the
        // day's point (same series and time: still one point), it does not add a second one.
        var yesterday = today.AddDays(-1);
        var lastRegister = summary.Sensors[LateMeter].AcknowledgedReadings.OrderBy(r => r.Timestamp).Last();
        var dayStart = LocalMidnight(zone, yesterday);
        var dayEnd = LocalMidnight(zone, today);
        var late = new List<(DateTimeOffset At, double Kwh)> { (lastRegister.Timestamp, lastRegister.Metrics["energy"]) };
        for (var at = dayStart + TimeSpan.FromMinutes(1); at <= dayEnd; at += TimeSpan.FromMinutes(10))
        {
            late.Add((at, late[^1].Kwh + 2.5)); // 15 kW over 10 minutes
        }

        var lateExpected = new Dictionary<(string, DateOnly), double>();
        var half = late.Count / 2;
        await UploadAsync(service, LateMeter, late.Skip(1).Take(half).ToList());
        for (var i = 1; i <= half; i++)
        {
            Share(lateExpected, "bldg-2", zone, late[i - 1].At, late[i].At, late[i].Kwh - late[i - 1].Kwh);
        }

        await Poll.UntilAsync($"bldg-2's point for {yesterday} with the first half ({lateExpected[("bldg-2", yesterday)]:0.###} kWh)",
            () => DailyAsync(influx, zone, yesterday, yesterday),
            found => found.TryGetValue(("bldg-2", yesterday), out var p) && Math.Abs(p.Kwh - lateExpected[("bldg-2", yesterday)]) < 0.01,
            TimeSpan.FromMinutes(2), show: found => string.Join(", ", found.Select(p => $"{p.Key} {p.Value.Kwh:0.###}")), cancellationToken: Ct);

        await UploadAsync(service, LateMeter, late.Skip(half + 1).ToList());
        for (var i = half + 1; i < late.Count; i++)
        {
            Share(lateExpected, "bldg-2", zone, late[i - 1].At, late[i].At, late[i].Kwh - late[i - 1].Kwh);
        }

        var corrected = lateExpected[("bldg-2", yesterday)];
        await Poll.UntilAsync($"bldg-2's point for {yesterday} corrected to {corrected:0.###} kWh",
            () => DailyAsync(influx, zone, yesterday, yesterday),
            found => found.TryGetValue(("bldg-2", yesterday), out var p) && Math.Abs(p.Kwh - corrected) < 0.01,
            TimeSpan.FromMinutes(2), show: found => string.Join(", ", found.Select(p => $"{p.Key} {p.Value.Kwh:0.###}")), cancellationToken: Ct);
        var points = await influx.QueryAsync(Database,
            $"SELECT count(energy_kwh) FROM \"long\".\"building_1d\" WHERE building = 'bldg-2' AND time = {dayStart.ToUnixTimeMilliseconds()}ms", Ct);
        Assert.Equal(1, points.Single().Get(0, "count").GetInt64());
    }

    static DateTimeOffset LocalMidnight(TimeZoneInfo zone, DateOnly day)
    {
        var local = day.ToDateTime(TimeOnly.MinValue);
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    /// <summary>Adds <paramref name="kwh"/> used between two instants to the local days they span, in proportion to time.</summary>
    static void Share(Dictionary<(string, DateOnly), double> sums, string building, TimeZoneInfo zone, DateTimeOffset t0, DateTimeOffset t1, double kwh)
    {
        var length = (t1 - t0).TotalMilliseconds;
        var cursor = t0;
        while (cursor < t1)
        {
            var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(cursor, zone).DateTime);
            var next = LocalMidnight(zone, day.AddDays(1));
            var stop = next < t1 ? next : t1;
            sums[(building, day)] = sums.GetValueOrDefault((building, day)) + kwh * (stop - cursor).TotalMilliseconds / length;
            cursor = stop;
        }
    }

    static async Task<Dictionary<(string Building, DateOnly Day), (double Kwh, int Hours)>> DailyAsync(
        InfluxDbServer influx, TimeZoneInfo zone, DateOnly from, DateOnly to)
    {
        var found = new Dictionary<(string, DateOnly), (double, int)>();
        var series = await influx.QueryAsync(Database,
            $"SELECT energy_kwh, hours FROM \"long\".\"building_1d\" WHERE time >= {LocalMidnight(zone, from).ToUnixTimeMilliseconds()}ms " +
            $"AND time < {LocalMidnight(zone, to.AddDays(1)).ToUnixTimeMilliseconds()}ms GROUP BY building", Ct);
        foreach (var s in series)
        {
            for (var i = 0; i < s.Values.Count; i++)
            {
                var at = DateTimeOffset.FromUnixTimeMilliseconds(s.Get(i, "time").GetInt64());
                var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);
                found[(s.Tags["building"], day)] = (s.Get(i, "energy_kwh").GetDouble(), (int)s.Get(i, "hours").GetDouble());
            }
        }

        return found;
    }

    static async Task UploadAsync(TelemetryServiceHost service, string meter, IReadOnlyList<(DateTimeOffset At, double Kwh)> readings)
    {
        using var client = await service.ConnectAsync($"late-{meter}", MQTTnet.Formatter.MqttProtocolVersion.V500, Ct);
        foreach (var chunk in readings.Chunk(100))
        {
            var payload = new StringBuilder("[");
            payload.AppendJoin(',', chunk.Select(r => string.Create(CultureInfo.InvariantCulture,
                $"{{\"ts\":{r.At.ToUnixTimeMilliseconds()},\"power\":15,\"energy\":{r.Kwh}}}")));
            payload.Append(']');
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic($"campus/bldg-2/plant/{meter}/telemetry")
                .WithPayload(payload.ToString())
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build(), Ct);
            Assert.True(result.IsSuccess, $"the late upload was refused: {result.ReasonCode} {result.ReasonString}");
        }
    }

    static void AssertClose(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 0.001 + 1e-6 * Math.Abs(expected), $"{what}: expected {expected:0.######} kWh, got {actual:0.######}");
}
