using System.Text.Json;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Reports;

/// <summary>
/// Hourly and daily report points computed by the service from the raw readings it stored in a real InfluxDB 1.6:
/// live data, a late upload that corrects yesterday, and a meter register reset. Expected values are computed here
/// from the readings the test sent (a constant power and a register rising with it, so every figure has a closed form).
/// </summary>
[Collection(ReportFixture.CollectionName)]
public sealed class ReportTests(ReportFixture fixture)
{
    const double Tolerance = 1e-6;
    static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static double Hours(DateTimeOffset from, DateTimeOffset to) => (to - from).TotalHours;

    static Dictionary<string, double> Meter(double powerKw, double registerKwh) =>
        new Dictionary<string, double> { ["power"] = powerKw, ["energy"] = registerKwh };

    static Dictionary<string, double> People(double people) => new Dictionary<string, double> { ["people"] = people };

    static double Number(IReadOnlyDictionary<string, JsonElement> point, string field) =>
        point.TryGetValue(field, out var value) ? value.GetDouble() : double.NaN;

    /// <summary>Polls until exactly one point of the series at that time has <paramref name="field"/> ≈ <paramref name="expected"/>.</summary>
    async Task<IReadOnlyDictionary<string, JsonElement>> PointAsync(string measurement, string tag, string value, DateTimeOffset time, string field, double expected)
    {
        var points = await Poll.UntilAsync(
            $"{measurement} of {tag}={value} at {time:u} with {field} = {expected}",
            () => fixture.PointsAsync(measurement, tag, value, time, Ct),
            found => found.Count == 1 && Math.Abs(Number(found[0], field) - expected) <= Tolerance * Math.Max(1, Math.Abs(expected)),
            Within,
            show: found => string.Join(" | ", found.Select(p => string.Join(", ", p.Select(kv => $"{kv.Key}={kv.Value}")))),
            every: TimeSpan.FromMilliseconds(250),
            cancellationToken: Ct);
        return points[0];
    }

    [Fact]
    public async Task Live_data_of_a_meter_and_a_room_gives_hourly_and_daily_points_for_today()
    {
        // One reading a minute for the last two hours: 30 kW, the register rising 0.5 kWh a minute; 2 people.
        var now = DateTimeOffset.UtcNow;
        var lastMinute = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var minutes = Enumerable.Range(0, 121).Select(i => lastMinute.AddMinutes(i - 120)).ToList();
        var start = minutes[0];
        await fixture.PublishAsync("live", "plant", "live-mains",
            minutes.Select(t => (t.ToUnixTimeMilliseconds(), Meter(30, 100 + (30 * Hours(start, t))))), Ct);
        await fixture.PublishAsync("live", "live-r1", "live-occ", minutes.Select(t => (t.ToUnixTimeMilliseconds(), People(2))), Ct);

        // The last full UTC hour is a local hour of today (whole-hour zone, see the fixture), wholly covered.
        var hour = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerHour), TimeSpan.Zero).AddHours(-1);
        var meterHour = await PointAsync("meter_1h", "sensor", "live-mains", hour, "energy_kwh", 30);
        Assert.Equal(30, Number(meterHour, "peak_kw"), 6);
        Assert.Equal("register", meterHour["source"].GetString());
        Assert.Equal(0, Number(meterHour, "resets"));

        var powerHour = (await Poll.UntilAsync("telemetry_1h of live-mains power for the last full hour with 60 readings",
            () => fixture.PointsAsync("telemetry_1h", "sensor", "live-mains", hour, Ct),
            found => found.Any(p => p.TryGetValue("metric", out var m) && m.GetString() == "power" && Number(p, "count") == 60),
            Within, every: TimeSpan.FromMilliseconds(250), cancellationToken: Ct)).Single(p => p["metric"].GetString() == "power");
        Assert.Equal(30, Number(powerHour, "mean"), 6);
        Assert.Equal(30, Number(powerHour, "min"), 6);
        Assert.Equal(30, Number(powerHour, "max"), 6);

        var roomHour = await PointAsync("room_1h", "room", "live-r1", hour, "people_mean", 2);
        Assert.Equal("live", roomHour["building"].GetString());
        Assert.Equal(2, Number(roomHour, "people_max"), 6);
        Assert.Equal(1, Number(roomHour, "occupied_hours"), 6);

        await PointAsync("building_1h", "building", "live", hour, "energy_kwh", 30);

        // Today's day points: partial, they hold at least the hour above.
        var (today, _) = fixture.DayOf(now);
        var meterDay = await Poll.UntilAsync("meter_1d of live-mains for today with the last full hour",
            () => fixture.PointsAsync("meter_1d", "sensor", "live-mains", today, Ct),
            found => found.Count == 1 && Number(found[0], "energy_kwh") >= 30 - Tolerance, Within, every: TimeSpan.FromMilliseconds(250), cancellationToken: Ct);
        Assert.True(Number(meterDay[0], "energy_kwh") <= (30 * Hours(start, lastMinute)) + Tolerance, $"today's energy {Number(meterDay[0], "energy_kwh")} exceeds what was sent");
        var buildingDay = (await Poll.UntilAsync("building_1d of live for today", () => fixture.PointsAsync("building_1d", "building", "live", today, Ct),
            found => found.Count == 1, Within, every: TimeSpan.FromMilliseconds(250), cancellationToken: Ct))[0];
        Assert.True(Number(buildingDay, "hours") >= 1, "today's building point covers at least one hour");
    }

    [Fact]
    public async Task A_late_upload_corrects_yesterdays_points_in_place()
    {
        // Yesterday (local) from a device that buffered: 20 kW, the register rising with it, every 5 minutes;
        // nobody in room 1 in the morning, 3 people from noon. First the morning arrives, then the rest.
        var (yesterday, todayStart) = fixture.DayOf(DateTimeOffset.UtcNow.AddDays(-1));
        var yesterdayDate = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(yesterday, fixture.Zone).DateTime);
        var noon = fixture.LocalToUtc(yesterdayDate, 12);
        var times = Enumerable.Range(0, (int)((todayStart - yesterday).TotalMinutes / 5) + 1).Select(i => yesterday.AddMinutes(5 * i)).ToList();
        var register = (DateTimeOffset t) => 500 + (20 * Hours(yesterday, t));
        var morning = times.Where(t => t <= noon).ToList();
        var afternoon = times.Where(t => t > noon).ToList();

        await fixture.PublishAsync("late", "plant", "late-mains", morning.Select(t => (t.ToUnixTimeMilliseconds(), Meter(20, register(t)))), Ct);
        await fixture.PublishAsync("late", "late-r1", "late-occ", morning.Select(t => (t.ToUnixTimeMilliseconds(), People(0))), Ct);
        await PointAsync("meter_1d", "sensor", "late-mains", yesterday, "energy_kwh", 20 * Hours(yesterday, noon));
        await PointAsync("building_1d", "building", "late", yesterday, "energy_kwh", 20 * Hours(yesterday, noon));

        await fixture.PublishAsync("late", "plant", "late-mains", afternoon.Select(t => (t.ToUnixTimeMilliseconds(), Meter(20, register(t)))), Ct);
        await fixture.PublishAsync("late", "late-r1", "late-occ", afternoon.Select(t => (t.ToUnixTimeMilliseconds(), People(3))), Ct);

        // The same series and timestamps, now with the whole day; one point each (replaced, not added).
        var dayEnergy = 20 * Hours(yesterday, todayStart);
        var meterDay = await PointAsync("meter_1d", "sensor", "late-mains", yesterday, "energy_kwh", dayEnergy);
        Assert.Equal(20, Number(meterDay, "peak_kw"), 6);
        Assert.Equal("register", meterDay["source"].GetString());
        var buildingDay = await PointAsync("building_1d", "building", "late", yesterday, "energy_kwh", dayEnergy);
        Assert.Equal(1, Number(buildingDay, "meters_register"));

        // An afternoon hour of room 1: 3 people all hour.
        var threePm = fixture.LocalToUtc(yesterdayDate, 15);
        var roomHour = await PointAsync("room_1h", "room", "late-r1", threePm, "people_mean", 3);
        Assert.Equal("late", roomHour["building"].GetString());
        Assert.Equal(1, Number(roomHour, "occupied_hours"), 6);
        var roomDay = await PointAsync("room_1d", "room", "late-r1", yesterday, "occupied_hours", Hours(noon.AddMinutes(5), todayStart));
        Assert.Equal(3, Number(roomDay, "people_max"), 6);

        // The marks that made yesterday dirty, and the days computed, are counted.
        var metrics = await fixture.Service.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct);
        Assert.True(PrometheusText.Sum(metrics, "telemetry_reports_marks_total") >= 24, metrics);
        Assert.True(PrometheusText.Sum(metrics, "telemetry_reports_days_computed_total") >= 2, metrics);
        Assert.Equal(0, PrometheusText.Sum(metrics, "telemetry_reports_marks_too_late_total"));
    }

    [Fact]
    public async Task A_meter_register_reset_gives_no_negative_and_no_doubled_energy()
    {
        // Yesterday, 12 kW every 5 minutes; the register reads 8000 + energy until 10:00 local and restarts from zero
        // just after (the 10:05 reading holds the 1 kWh of 10:00–10:05 counted from zero).
        var (yesterday, todayStart) = fixture.DayOf(DateTimeOffset.UtcNow.AddDays(-1));
        var yesterdayDate = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(yesterday, fixture.Zone).DateTime);
        var reset = fixture.LocalToUtc(yesterdayDate, 10);
        var times = Enumerable.Range(0, (int)((todayStart - yesterday).TotalMinutes / 5) + 1).Select(i => yesterday.AddMinutes(5 * i)).ToList();
        await fixture.PublishAsync("reset", "plant", "reset-mains", times.Select(t =>
            (t.ToUnixTimeMilliseconds(), Meter(12, t <= reset ? 8000 + (12 * Hours(yesterday, t)) : 12 * Hours(reset, t)))), Ct);

        var meterDay = await PointAsync("meter_1d", "sensor", "reset-mains", yesterday, "energy_kwh", 12 * Hours(yesterday, todayStart));
        Assert.Equal(1, Number(meterDay, "resets"));
        var resetHour = await PointAsync("meter_1h", "sensor", "reset-mains", reset, "energy_kwh", 12);
        Assert.Equal(1, Number(resetHour, "resets"));
        await PointAsync("building_1d", "building", "reset", yesterday, "energy_kwh", 12 * Hours(yesterday, todayStart));

        var hours = await fixture.Influx.QueryAsync(ReportFixture.Database,
            $"SELECT energy_kwh FROM \"{ReportFixture.LongPolicy}\".meter_1h WHERE sensor = 'reset-mains' AND time >= {yesterday.ToUnixTimeMilliseconds()}ms AND time < {todayStart.ToUnixTimeMilliseconds()}ms", Ct);
        var values = hours.SelectMany(s => Enumerable.Range(0, s.Values.Count).Select(i => s.Get(i, "energy_kwh").GetDouble())).ToList();
        Assert.Equal((int)Math.Round(Hours(yesterday, todayStart)), values.Count);
        Assert.All(values, v => Assert.Equal(12, v, 6));
    }
}
