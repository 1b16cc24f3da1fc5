using Telemetry.Contracts;
using Telemetry.Grains.Alerts;
using Telemetry.Storage.Schema;
using static Telemetry.IntegrationTests.Grains.GrainTestCampus;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>
/// Room, building and campus figures from the classroom's sensors (the only ones in the test campus with roll-up
/// roles, so the expected sums are exact), and the state lines their timers write.
/// </summary>
[Collection(GrainClusterFixture.CollectionName)]
public sealed class CampusFiguresTests(GrainClusterFixture fixture)
{
    const double People = 12 + 8;
    const double PowerKw = 10 + 2.5;       // mains 10 kW + sub-meter 2500 W
    const double EnergyKwh = 1000 + 500;   // mains 1000 kWh + sub-meter 500 000 Wh

    IRoomGrain Classroom => fixture.Grains.GetGrain<IRoomGrain>(CampusKeys.Room(BuildingId, ClassroomId));

    async Task ReportClassroomAsync()
    {
        var now = NextTimestamp();
        await fixture.Grains.IngestAsync(Messages.Address(ClimateA, ClassroomId), now, ("temperature", 25), ("humidity", 40), ("co2", 900), ("battery", 99));
        await fixture.Grains.IngestAsync(Messages.Address(ClimateB, ClassroomId), now, ("temperature", 27), ("humidity", 50), ("co2", 1200));
        await fixture.Grains.IngestAsync(Messages.Address(OccupancyA, ClassroomId), now, ("people", 12));
        await fixture.Grains.IngestAsync(Messages.Address(OccupancyB, ClassroomId), now, ("people", 8));
        await fixture.Grains.IngestAsync(Messages.Address(Mains, ClassroomId), now, ("power", 10), ("energy", 1000));
        await fixture.Grains.IngestAsync(Messages.Address(SubMeterW, ClassroomId), now, ("power", 2500), ("energy", 500_000));
    }

    [Fact]
    public async Task Room_state_follows_its_sensors()
    {
        await ReportClassroomAsync();

        // Reports are one-way calls: the room sees them shortly after the ingest returns.
        var room = await Poll.UntilAsync("the classroom's six sensors, people and power", () => Classroom.GetState(), r => r.SensorsOnline == 6 && r.People == People && r.PowerKw == PowerKw, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(ClassroomCapacity, room.Capacity);
        Assert.Equal("classroom", room.Type);
        Assert.Equal(People, room.People);
        Assert.Equal(50.0, room.UtilisationPercent);
        Assert.Equal(26.0, room.TemperatureC);
        Assert.Equal(45.0, room.HumidityPercent);
        Assert.Equal(1200.0, room.Co2Ppm);
        Assert.Equal(PowerKw, room.PowerKw);
        Assert.Equal(EnergyKwh, room.EnergyKwh);
        Assert.Equal(6, room.SensorsTotal);
        Assert.False(room.ComfortOk);
        Assert.Equal(2, room.ComfortIssues.Count);
        Assert.Contains(room.ComfortIssues, i => i.StartsWith("temperature 26.0", StringComparison.Ordinal) && i.Contains("above", StringComparison.Ordinal));
        Assert.Contains(room.ComfortIssues, i => i.StartsWith("CO2 1200", StringComparison.Ordinal));

        // The timer writes room_state with these figures.
        var line = await Poll.UntilAsync(
            "a room_state line of the classroom with its people and six sensors",
            () => Task.FromResult(fixture.Writer.Points(SeriesLines.RoomState, ("building", BuildingId), ("room", ClassroomId))
                .LastOrDefault(p => p.Fields.ContainsKey("people") && p.Number("people") == People && p.Number("sensors_online") == 6)),
            p => p is not null, cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotNull(line);
        Assert.Equal("classroom", line.Tag("room_type"));
        Assert.Equal(50, line.Number("utilisation"));
        Assert.Equal(26, line.Number("temperature"));
        Assert.Equal(1200, line.Number("co2"));
        Assert.Equal(0, line.Number("comfort_ok"));
        Assert.Equal(PowerKw, line.Number("power_kw"));
        Assert.Equal(6, line.Number("sensors_total"));
    }

    /// <summary>
    /// The classroom's sensors are shared by the tests of this class, and per metric the newest timestamp wins: every
    /// test's readings must be newer than any written before, whatever order the tests run in.
    /// </summary>
    static long NextTimestamp()
    {
        long last, next;
        do
        {
            last = Interlocked.Read(ref lastTimestamp);
            next = Math.Max(Messages.NowMs, last + 10);
        }
        while (Interlocked.CompareExchange(ref lastTimestamp, next, last) != last);
        return next;
    }

    static long lastTimestamp;

    [Fact]
    public async Task Comfortable_room_reports_no_issues()
    {
        await ReportClassroomAsync();

        // Later than the readings just reported (per metric, the newest timestamp wins).
        var now = NextTimestamp();
        await fixture.Grains.IngestAsync(Messages.Address(ClimateA, ClassroomId), now + 1, ("temperature", 21), ("humidity", 40), ("co2", 600));
        await fixture.Grains.IngestAsync(Messages.Address(ClimateB, ClassroomId), now + 1, ("temperature", 23), ("humidity", 50), ("co2", 800));

        var room = await Poll.UntilAsync("the classroom at 22 °C and 800 ppm", () => Classroom.GetState(), r => r.TemperatureC == 22 && r.Co2Ppm == 800, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(22.0, room.TemperatureC);
        Assert.True(room.ComfortOk);
        Assert.Empty(room.ComfortIssues);
    }

    [Fact]
    public async Task Building_state_sums_its_rooms()
    {
        await ReportClassroomAsync();
        var building = fixture.Grains.GetGrain<IBuildingGrain>(BuildingId);
        var index = fixture.Grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key);

        var state = await Poll.UntilAsync("the building's people, power and energy", () => building.GetState(withRooms: true), b => b.People == People && b.PowerKw == PowerKw && b.EnergyKwh == EnergyKwh, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(People, state.People);
        Assert.Equal(ClassroomCapacity + LabCapacity, state.Capacity);
        Assert.Equal(Math.Round(100 * People / (ClassroomCapacity + LabCapacity), 1), state.UtilisationPercent);
        Assert.Equal(PowerKw, state.PowerKw);
        Assert.Equal(EnergyKwh, state.EnergyKwh);
        Assert.Equal(GrainTestCampus.Registry.FindBuilding(BuildingId)!.Rooms.Sum(r => r.Sensors.Count), state.SensorsTotal);
        Assert.Equal(state.Rooms.Sum(r => r.SensorsOnline), state.SensorsOnline);
        Assert.Equal([ClassroomId, LabId], state.Rooms.Select(r => r.Room));
        Assert.Empty((await building.GetState(withRooms: false)).Rooms);

        // Every alert of the test campus is in this building.
        var counted = await Poll.UntilAsync(
            "the building's active alerts to match the alert index",
            async () => (Building: await building.GetState(false), Index: (await index.GetActive()).Count),
            x => x.Building.AlertsActive == x.Index, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(counted.Index, counted.Building.AlertsActive);

        var line = await Poll.UntilAsync(
            "a building_state line with the building's people and power",
            () => Task.FromResult(fixture.Writer.Points(SeriesLines.BuildingState, ("building", BuildingId))
                .LastOrDefault(p => p.Number("people") == People && p.Number("power_kw") == PowerKw)),
            p => p is not null, cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotNull(line);
        Assert.Equal(EnergyKwh, line.Number("energy_kwh"));
        Assert.Equal(ClassroomCapacity + LabCapacity, line.Number("capacity"));
    }

    [Fact]
    public async Task Campus_state_counts_devices_and_active_alerts_by_severity()
    {
        await ReportClassroomAsync();
        var campus = fixture.Grains.GetGrain<ICampusGrain>(CampusId);
        var index = fixture.Grains.GetGrain<IAlertIndexGrain>(AlertIndexGrain.Key);

        // A critical alert of this test's own freezer.
        await fixture.Grains.IngestAsync(Messages.Address(FreezerCampus), Messages.NowMs, ("fault", 2));
        var alertId = Assert.Single(fixture.Notifier.For(FreezerCampus)).Alert.Id;

        var counted = await Poll.UntilAsync(
            "the campus's alert counts to match the alert index, with its people",
            async () => (Campus: await campus.GetState(), Active: await index.GetActive()),
            x => SameCounts(x.Campus, x.Active) && x.Campus.People == People, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Contains(counted.Active, a => a.Id == alertId);
        Assert.True(SameCounts(counted.Campus, counted.Active),
            $"campus counts {string.Join(", ", counted.Campus.ActiveAlertsBySeverity)} differ from the index");
        Assert.True(counted.Campus.ActiveAlertsBySeverity.GetValueOrDefault(AlertSeverity.Critical) >= 1);
        Assert.Equal(GrainTestCampus.Registry.Sensors.Count(), counted.Campus.DevicesTotal);
        Assert.Equal(counted.Campus.Buildings.Sum(b => b.SensorsOnline), counted.Campus.DevicesOnline);
        Assert.InRange(counted.Campus.DevicesOnline, 7, counted.Campus.DevicesTotal); // the classroom's six and this freezer
        Assert.Equal(People, counted.Campus.People);
        Assert.Equal(PowerKw, counted.Campus.PowerKw);
        Assert.Equal(EnergyKwh, counted.Campus.EnergyKwh);
        Assert.Equal(ClassroomCapacity + LabCapacity, counted.Campus.Capacity);

        var line = await Poll.UntilAsync(
            "a campus_state line with the people and a critical alert",
            () => Task.FromResult(fixture.Writer.Points(SeriesLines.CampusState, ("campus", CampusId))
                .LastOrDefault(p => p.Number("people") == People && p.Number("alerts_critical") >= 1)),
            p => p is not null, cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotNull(line);
        Assert.Equal(GrainTestCampus.Registry.Sensors.Count(), line.Number("devices_total"));
        Assert.Equal(PowerKw, line.Number("power_kw"));

        // Cleared: the campus count follows the index down again.
        var criticalBefore = counted.Campus.ActiveAlertsBySeverity[AlertSeverity.Critical];
        await fixture.Grains.IngestAsync(Messages.Address(FreezerCampus), Messages.NowMs + 1, ("fault", 0));
        var after = await Poll.UntilAsync(
            "the campus's alert counts to match the alert index after the clear",
            async () => (Campus: await campus.GetState(), Active: await index.GetActive()),
            x => SameCounts(x.Campus, x.Active), cancellationToken: TestContext.Current.CancellationToken);
        Assert.DoesNotContain(after.Active, a => a.Id == alertId);
        Assert.True(SameCounts(after.Campus, after.Active));
        Assert.Equal(criticalBefore - 1, after.Campus.ActiveAlertsBySeverity.GetValueOrDefault(AlertSeverity.Critical));

        static bool SameCounts(CampusState state, IReadOnlyList<AlertInfo> active) =>
            Enum.GetValues<AlertSeverity>().All(s =>
                state.ActiveAlertsBySeverity.GetValueOrDefault(s) == active.Count(a => a.Severity == s));
    }
}
