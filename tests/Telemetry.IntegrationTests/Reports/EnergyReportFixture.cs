using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Reports;

/// <summary>
/// One daily point as the report engine documents it (docs/reports.md, schema in the design): <c>building_1d</c> when
/// <see cref="Room"/> is null, else <c>room_1d</c>. <see cref="Hours"/> null means "all hour windows of the day".
/// </summary>
public sealed record WrittenDay(string Building, string? Room, DateOnly Date, double? Kwh, double Peak = 0, int Register = 0, int Power = 0, int? Hours = null);

/// <summary>
/// The energy report's test data and its arithmetic, computed here from the campus zone with <see cref="TimeZoneInfo"/>
/// (not the service's <c>LocalCalendar</c>), and written as line protocol by the test (not the service's line builders).
/// </summary>
public static class EnergyReportData
{
    public const string TimeZone = "Europe/Berlin";

    public static readonly TimeZoneInfo Zone = TimeZoneInfo.FindSystemTimeZoneById(TimeZone);

    /// <summary>
    /// b-north: every day of March and April 2026 (29 March has 23 hours), 15 April partial; b-south: 25–31 March and
    /// 24–26 October (25 October has 25 hours); "annex,old" (not in the registry; a comma to quote in CSV): 29 March
    /// complete at 23 hours, 25 October partial at 24 of 25 hours; "=legacy" (a formula to a spreadsheet); points just
    /// outside the months; rooms of b-north and b-south, one without energy.
    /// </summary>
    public static IReadOnlyList<WrittenDay> Days { get; } = BuildDays();

    static List<WrittenDay> BuildDays()
    {
        var days = new List<WrittenDay>();
        var i = 0;
        for (var d = new DateOnly(2026, 2, 27); d <= new DateOnly(2026, 5, 2); d = d.AddDays(1), i++)
        {
            days.Add(new WrittenDay("b-north", null, d, 200.125 + (i * 1.25), Peak: 30 + (i % 7) + 0.5, Register: 2, Power: 1,
                Hours: d == new DateOnly(2026, 4, 15) ? 10 : null));
        }

        for (var d = new DateOnly(2026, 3, 25); d <= new DateOnly(2026, 3, 31); d = d.AddDays(1))
        {
            days.Add(new WrittenDay("b-south", null, d, 80.5 + d.Day, Peak: 12.5, Register: 0, Power: 1));
        }

        days.Add(new WrittenDay("b-south", null, new DateOnly(2026, 10, 24), 95.0, Peak: 14, Power: 1));
        days.Add(new WrittenDay("b-south", null, new DateOnly(2026, 10, 25), 99.75, Peak: 15.25, Power: 1));
        days.Add(new WrittenDay("b-south", null, new DateOnly(2026, 10, 26), 96.5, Peak: 14.5, Power: 1));
        days.Add(new WrittenDay("annex,old", null, new DateOnly(2026, 3, 29), 7.25, Peak: 1.5, Register: 1, Hours: 23));
        days.Add(new WrittenDay("annex,old", null, new DateOnly(2026, 10, 25), 10.5, Peak: 2, Register: 1, Hours: 24));
        days.Add(new WrittenDay("=legacy", null, new DateOnly(2026, 10, 25), 1.125, Peak: 0.5, Register: 1));

        for (var d = new DateOnly(2026, 3, 27); d <= new DateOnly(2026, 4, 2); d = d.AddDays(1))
        {
            days.Add(new WrittenDay("b-north", "plant", d, 150 + (d.DayNumber % 10 * 0.5)));
        }

        for (var d = new DateOnly(2026, 3, 30); d <= new DateOnly(2026, 4, 1); d = d.AddDays(1))
        {
            days.Add(new WrittenDay("b-north", "lab-1", d, 20.25));
        }

        days.Add(new WrittenDay("b-north", "office", new DateOnly(2026, 3, 29), null));
        days.Add(new WrittenDay("b-south", "plant", new DateOnly(2026, 3, 29), 40));
        return days;
    }

    /// <summary>The UTC instant of local midnight of <paramref name="date"/> (Europe/Berlin's midnights are never in a gap).</summary>
    public static DateTimeOffset DayStart(DateOnly date) =>
        new(TimeZoneInfo.ConvertTimeToUtc(date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified), Zone), TimeSpan.Zero);

    /// <summary>How many hours the local day has (23, 24 or 25).</summary>
    public static int HoursOf(DateOnly date) => (int)(DayStart(date.AddDays(1)) - DayStart(date)).TotalHours;

    public static bool IsComplete(WrittenDay day) => (day.Hours ?? HoursOf(day.Date)) >= HoursOf(day.Date);

    /// <summary>The points as line protocol (precision ms), tag values escaped as line protocol requires.</summary>
    public static string LineProtocol(IEnumerable<WrittenDay> days)
    {
        static string Tag(string value) => value.Replace(",", "\\,", StringComparison.Ordinal).Replace("=", "\\=", StringComparison.Ordinal).Replace(" ", "\\ ", StringComparison.Ordinal);
        static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        var lines = new StringBuilder();
        foreach (var d in days)
        {
            var ms = DayStart(d.Date).ToUnixTimeMilliseconds();
            if (d.Room is null)
            {
                lines.Append(CultureInfo.InvariantCulture,
                    $"building_1d,building={Tag(d.Building)} energy_kwh={F(d.Kwh!.Value)},peak_kw={F(d.Peak)},mean_kw={F(d.Kwh!.Value / HoursOf(d.Date))},meters={d.Register + d.Power},meters_register={d.Register},meters_power={d.Power},resets=0,gaps=0,hours={d.Hours ?? HoursOf(d.Date)},weekend=0 {ms}\n");
            }
            else
            {
                lines.Append(CultureInfo.InvariantCulture,
                    $"room_1d,building={Tag(d.Building)},room={Tag(d.Room)},room_type=plant occupied_hours=1.5,comfort_minutes=600{(d.Kwh is { } kwh ? $",energy_kwh={F(kwh)}" : "")} {ms}\n");
            }
        }

        return lines.ToString();
    }

    /// <summary>POST /write with an explicit retention policy (the fixture's WriteAsync names none).</summary>
    public static async Task WriteAsync(InfluxDbServer influx, string database, string? retentionPolicy, string lines, CancellationToken ct)
    {
        var rp = retentionPolicy is null ? "" : $"&rp={Uri.EscapeDataString(retentionPolicy)}";
        using var content = new StringContent(lines, Encoding.UTF8, new MediaTypeHeaderValue("text/plain"));
        using var response = await influx.Http.PostAsync(new Uri($"write?db={Uri.EscapeDataString(database)}&precision=ms{rp}", UriKind.Relative), content, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.NoContent, $"write answered {(int)response.StatusCode}: {body}");
    }

    /// <summary>A registry in <see cref="TimeZone"/> that lists b-north and b-south only.</summary>
    public static string Registry(string campusId) => $$"""
        campus:
          id: {{campusId}}
          name: Energy report test campus
          timezone: {{TimeZone}}
        kinds:
          freezer:
            interval: 60s
            metrics:
              temperature: { unit: "°C" }
        buildings:
          - id: b-north
            rooms:
              - id: plant
                sensors:
                  - { id: frz-north, kind: freezer }
          - id: b-south
            rooms:
              - id: plant
                sensors:
                  - { id: frz-south, kind: freezer }

        """;
}

/// <summary>
/// A real InfluxDB 1.6 with <see cref="EnergyReportData.Days"/> written to the default retention policy, and the service
/// reading it (registry in Europe/Berlin; the report engine off so that it writes nothing of its own).
/// </summary>
public sealed class EnergyReportFixture : IAsyncLifetime
{
    public const string CollectionName = "energy-report";
    public const string Database = "campus";

    InfluxDbServer? influx;
    TelemetryServiceHost? service;
    string? directory;

    public InfluxDbServer Influx => influx ?? throw new InvalidOperationException("not started");

    public TelemetryServiceHost Service => service ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        try
        {
            directory = Directory.CreateTempSubdirectory("telemetry-it-energy-").FullName;
            var registry = Path.Combine(directory, "campus.yaml");
            await File.WriteAllTextAsync(registry, EnergyReportData.Registry("energy-campus"), ct);
            influx = await InfluxDbServer.StartAsync(ct);
            await influx.CreateDatabaseAsync(Database, ct);
            await EnergyReportData.WriteAsync(influx, Database, null, EnergyReportData.LineProtocol(EnergyReportData.Days), ct);
            service = await TelemetryServiceHost.StartAsync(
                ["--Influx:Api=V1", $"--Influx:Url={influx.Url}", $"--Influx:Database={Database}", $"--Campus:RegistryPath={registry}", "--Reports:Enabled=false"], ct);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
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

        if (directory is not null)
        {
            TestServer.DeleteDirectory(directory);
            directory = null;
        }
    }
}

[CollectionDefinition(EnergyReportFixture.CollectionName)]
public sealed class EnergyReportCollection : ICollectionFixture<EnergyReportFixture>;
