using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Grains.Campus;

namespace Telemetry.UnitTests.Campus;

/// <summary>The arithmetic of the room, building and campus figures (RoomFigures, BuildingFigures).</summary>
public sealed class RoomFiguresTests
{
    static readonly Room Classroom = new("r1", "Seminar room 1", "classroom", 40,
    [
        new Sensor("t1", "climate"), new Sensor("t2", "climate"), new Sensor("t3", "climate"),
        new Sensor("occ1", "occupancy"), new Sensor("occ2", "occupancy"),
        new Sensor("m1", "meter"), new Sensor("m2", "meter"),
        new Sensor("never", "climate"),
    ]);

    static Dictionary<string, SensorReport> Reports(params SensorReport[] reports) =>
        reports.ToDictionary(r => r.Sensor, StringComparer.Ordinal);

    static RoomState Compute(Room? room, params SensorReport[] reports) =>
        RoomFigures.Compute("b1", room?.Id ?? "r-unknown", room, ComfortBands.Default, Reports(reports));

    [Fact]
    public void Sums_people_and_power_averages_temperature_and_humidity_and_takes_the_worst_co2()
    {
        var state = Compute(Classroom,
            new SensorReport("t1", true, 1, TemperatureC: 21, HumidityPercent: 40, Co2Ppm: 700),
            new SensorReport("t2", true, 1, TemperatureC: 22.5, HumidityPercent: 45, Co2Ppm: 950),
            new SensorReport("occ1", true, 1, People: 7),
            new SensorReport("occ2", true, 1, People: 3),
            new SensorReport("m1", true, 1, PowerKw: 1.25, EnergyKwh: 100),
            new SensorReport("m2", true, 1, PowerKw: 0.5, EnergyKwh: 20.5));

        Assert.Equal("b1", state.Building);
        Assert.Equal("r1", state.Room);
        Assert.Equal("Seminar room 1", state.Name);
        Assert.Equal("classroom", state.Type);
        Assert.Equal(40, state.Capacity);
        Assert.Equal(10, state.People);
        Assert.Equal(25.0, state.UtilisationPercent);
        Assert.Equal(21.75, state.TemperatureC);
        Assert.Equal(42.5, state.HumidityPercent);
        Assert.Equal(950, state.Co2Ppm);
        Assert.Equal(1.75, state.PowerKw);
        Assert.Equal(120.5, state.EnergyKwh);
        Assert.True(state.ComfortOk);
        Assert.Empty(state.ComfortIssues);
    }

    [Fact]
    public void Offline_sensors_drop_out_of_live_figures_but_their_energy_register_still_counts()
    {
        var state = Compute(Classroom,
            new SensorReport("t1", true, 1, TemperatureC: 21),
            new SensorReport("t2", false, 1, TemperatureC: 30, Co2Ppm: 2000),
            new SensorReport("occ1", false, 1, People: 7),
            new SensorReport("occ2", true, 1, People: 3),
            new SensorReport("m1", false, 1, PowerKw: 5, EnergyKwh: 100),
            new SensorReport("m2", true, 1, PowerKw: 0.5, EnergyKwh: 20));

        Assert.Equal(3, state.People);
        Assert.Equal(21, state.TemperatureC);
        Assert.Null(state.Co2Ppm);
        Assert.Equal(0.5, state.PowerKw);
        Assert.Equal(120, state.EnergyKwh);
        Assert.Equal(3, state.SensorsOnline);
    }

    [Fact]
    public void The_roster_comes_from_the_registry_and_silent_sensors_count_as_offline()
    {
        var state = Compute(Classroom,
            new SensorReport("t1", true, 1, TemperatureC: 21),
            new SensorReport("stranger", true, 1, People: 50, TemperatureC: 40));

        Assert.Equal(Classroom.Sensors.Count, state.SensorsTotal);
        Assert.Equal(1, state.SensorsOnline);
        Assert.Null(state.People);
        Assert.Null(state.UtilisationPercent);
        Assert.Equal(21, state.TemperatureC);
        Assert.Equal(Classroom.Sensors.Select(s => s.Id), state.Sensors.Select(s => s.Sensor));
        var never = Assert.Single(state.Sensors, s => s.Sensor == "never");
        Assert.False(never.Online);
        Assert.Equal(0, never.LastSeenMs);
    }

    [Fact]
    public void A_room_the_registry_does_not_know_takes_whatever_reported()
    {
        var state = Compute(null,
            new SensorReport("a", true, 1, People: 4),
            new SensorReport("b", false, 1, People: 9));

        Assert.Equal("r-unknown", state.Name);
        Assert.Equal("", state.Type);
        Assert.Equal(0, state.Capacity);
        Assert.Equal(4, state.People);
        Assert.Null(state.UtilisationPercent);
        Assert.Equal(2, state.SensorsTotal);
        Assert.Equal(1, state.SensorsOnline);
        Assert.Null(state.ComfortOk);
    }

    [Fact]
    public void Comfort_names_every_figure_outside_its_band()
    {
        var cold = Compute(Classroom, new SensorReport("t1", true, 1, TemperatureC: 18.04, HumidityPercent: 25, Co2Ppm: 1000));
        Assert.False(cold.ComfortOk);
        Assert.Equal(["temperature 18.0 °C below 20 °C", "humidity 25 % below 30 %"], cold.ComfortIssues);

        var stuffy = Compute(Classroom, new SensorReport("t1", true, 1, TemperatureC: 24.5, HumidityPercent: 65, Co2Ppm: 1400.4));
        Assert.False(stuffy.ComfortOk);
        Assert.Equal(["temperature 24.5 °C above 24 °C", "CO2 1400 ppm above 1000 ppm", "humidity 65 % above 60 %"], stuffy.ComfortIssues);

        // On the band's edges is comfortable.
        var edge = Compute(Classroom, new SensorReport("t1", true, 1, TemperatureC: 24, HumidityPercent: 30, Co2Ppm: 1000));
        Assert.True(edge.ComfortOk);
    }

    [Fact]
    public void Without_climate_figures_comfort_is_unknown()
    {
        var state = Compute(Classroom, new SensorReport("occ1", true, 1, People: 2));

        Assert.Null(state.ComfortOk);
        Assert.Empty(state.ComfortIssues);
        Assert.Null(state.TemperatureC);
        Assert.Null(state.PowerKw);
        Assert.Null(state.EnergyKwh);
    }

    [Fact]
    public void Figures_are_rounded_for_display()
    {
        var state = Compute(Classroom,
            new SensorReport("t1", true, 1, TemperatureC: 21.111, HumidityPercent: 40.04, Co2Ppm: 800.6),
            new SensorReport("t2", true, 1, TemperatureC: 21.113),
            new SensorReport("occ1", true, 1, People: 1),
            new SensorReport("m1", true, 1, PowerKw: 1.23456, EnergyKwh: 9.87654));

        Assert.Equal(21.11, state.TemperatureC);
        Assert.Equal(40.0, state.HumidityPercent);
        Assert.Equal(801, state.Co2Ppm);
        Assert.Equal(2.5, state.UtilisationPercent);
        Assert.Equal(1.235, state.PowerKw);
        Assert.Equal(9.877, state.EnergyKwh);
    }

    static RoomState RoomOf(string id, int capacity, double? people, double? power, double? energy, int online, int total) =>
        new("b1", id, id, "classroom", capacity, people, null, null, null, null, null, [], power, energy, online, total, []);

    [Fact]
    public void Building_sums_its_rooms()
    {
        IReadOnlyList<RoomState> rooms =
        [
            RoomOf("r1", 40, 10, 1.5, 100, 3, 4),
            RoomOf("r2", 20, null, null, null, 0, 2),
            RoomOf("plant", 0, null, 12.25, 5000.5, 1, 1),
        ];

        var building = BuildingFigures.Compute("b1", "Engineering", rooms, alertsActive: 2, withRooms: true);

        Assert.Equal("b1", building.Building);
        Assert.Equal("Engineering", building.Name);
        Assert.Equal(10, building.People);
        Assert.Equal(60, building.Capacity);
        Assert.Equal(16.7, building.UtilisationPercent);
        Assert.Equal(13.75, building.PowerKw);
        Assert.Equal(5100.5, building.EnergyKwh);
        Assert.Equal(4, building.SensorsOnline);
        Assert.Equal(7, building.SensorsTotal);
        Assert.Equal(2, building.AlertsActive);
        Assert.Equal(rooms, building.Rooms);

        Assert.Empty(BuildingFigures.Compute("b1", "Engineering", rooms, 0, withRooms: false).Rooms);
    }

    [Fact]
    public void Building_without_meters_or_capacity_has_no_energy_and_no_utilisation()
    {
        var building = BuildingFigures.Compute("b2", "Library", [RoomOf("r1", 0, 5, null, null, 1, 1)], 0, false);

        Assert.Null(building.EnergyKwh);
        Assert.Null(building.UtilisationPercent);
        Assert.Equal(0, building.PowerKw);
        Assert.Equal(5, building.People);

        var empty = BuildingFigures.Compute("b3", "Empty", [], 0, false);
        Assert.Equal(0, empty.People);
        Assert.Equal(0, empty.SensorsTotal);
        Assert.Null(empty.UtilisationPercent);
    }

    [Fact]
    public void Campus_sums_its_buildings_and_keeps_the_alert_counts()
    {
        var b1 = BuildingFigures.Compute("b1", "Engineering", [RoomOf("r1", 40, 10, 1.5, 100, 3, 4)], 1, false);
        var b2 = BuildingFigures.Compute("b2", "Library", [RoomOf("r1", 60, 20, 2.5, null, 2, 5)], 0, false);
        var alerts = new Dictionary<AlertSeverity, int> { [AlertSeverity.Critical] = 1, [AlertSeverity.Warning] = 3 };

        var campus = BuildingFigures.Compute(new CampusInfo("demo", "Demo Campus", "UTC"), [b1, b2], alerts);

        Assert.Equal("demo", campus.Campus);
        Assert.Equal("Demo Campus", campus.Name);
        Assert.Equal(30, campus.People);
        Assert.Equal(100, campus.Capacity);
        Assert.Equal(30.0, campus.UtilisationPercent);
        Assert.Equal(4, campus.PowerKw);
        Assert.Equal(100, campus.EnergyKwh);
        Assert.Equal(5, campus.DevicesOnline);
        Assert.Equal(9, campus.DevicesTotal);
        Assert.Equal(alerts, campus.ActiveAlertsBySeverity);
        Assert.Equal([b1, b2], campus.Buildings);
    }
}
