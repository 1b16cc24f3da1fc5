using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;

namespace Telemetry.UnitTests.Campus;

/// <summary>
/// deploy/campus.yaml as shipped. Expected counts come from the demo campus description (campus.md), not from the
/// loader: bldg-1 has r101..r110, lab1, lab2 and plant (13 rooms; 10×4 + 2×6 + 3 = 55 sensors), bldg-2 r101..r108 and
/// plant (9 rooms; 8×4 + 3 = 35), bldg-3 r101..r106 and plant (7 rooms; 6×4 + 3 = 27): 29 rooms, 117 sensors, 8 kinds.
/// </summary>
public class DemoCampusTests
{
    static readonly CampusRegistry Demo = LoadDemo();

    static CampusRegistry LoadDemo()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "campus.yaml");
        var result = CampusRegistryLoader.Load(File.ReadAllText(path), "deploy/campus.yaml");
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        return result.Registry!;
    }

    [Fact]
    public void The_demo_campus_has_the_described_shape()
    {
        Assert.Equal(new CampusInfo("demo", "Demo Campus", "Europe/Berlin"), Demo.Campus);
        Assert.Equal(UnregisteredPolicy.Accept, Demo.Unregistered);
        Assert.Equal(ComfortBands.Default, Demo.Comfort);
        Assert.Equal(["bldg-1", "bldg-2", "bldg-3"], Demo.Buildings.Select(b => b.Id));
        Assert.Equal(["Engineering", "Library", "Lecture Halls"], Demo.Buildings.Select(b => b.Name));
        Assert.Equal([13, 9, 7], Demo.Buildings.Select(b => b.Rooms.Count));
        Assert.Equal(29, Demo.Buildings.Sum(b => b.Rooms.Count));
        Assert.Equal([55, 35, 27], Demo.Buildings.Select(b => b.Rooms.Sum(r => r.Sensors.Count)));
        Assert.Equal(117, Demo.Sensors.Count());
        Assert.Equal(
            ["co2", "energy-meter", "freezer", "fume-hood", "humidity", "occupancy", "sub-meter", "temperature"],
            Demo.Kinds.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Ordinary_rooms_have_temperature_humidity_co2_and_occupancy_sensors()
    {
        var ordinary = Demo.Buildings.SelectMany(b => b.Rooms.Select(r => (Building: b, Room: r)))
            .Where(x => x.Room.Type is not ("plant" or "lab")).ToList();
        Assert.Equal(10 + 8 + 6, ordinary.Count);
        foreach (var (building, room) in ordinary)
        {
            var prefix = $"{building.Id}-{room.Id}-";
            Assert.Equal(
                [(prefix + "temp", "temperature"), (prefix + "hum", "humidity"), (prefix + "co2", "co2"), (prefix + "occ", "occupancy")],
                room.Sensors.Select(s => (s.Id, s.Kind)));
            Assert.InRange(room.Capacity, 20, 300);
        }
        Assert.All(Demo.Buildings[0].Rooms.Take(10), r => Assert.Equal("classroom", r.Type));
        Assert.All(Demo.Buildings[0].Rooms.Take(10), r => Assert.InRange(r.Capacity, 30, 120));
        Assert.All(Demo.Buildings[1].Rooms.Take(8), r => Assert.Contains(r.Type, new[] { "library", "study" }));
        Assert.All(Demo.Buildings[1].Rooms.Take(8), r => Assert.InRange(r.Capacity, 20, 80));
        Assert.All(Demo.Buildings[2].Rooms.Take(6), r => Assert.Equal("lecture-hall", r.Type));
        Assert.All(Demo.Buildings[2].Rooms.Take(6), r => Assert.InRange(r.Capacity, 80, 300));
    }

    [Fact]
    public void Labs_and_plant_rooms_hold_the_special_devices()
    {
        foreach (var lab in new[] { "lab1", "lab2" })
        {
            var room = Demo.FindRoom("bldg-1", lab)!;
            Assert.Equal("lab", room.Type);
            Assert.Equal(24, room.Capacity);
            Assert.Equal("freezer", Demo.FindSensor($"bldg-1-{lab}-freezer1")!.Kind.Id);
            Assert.Equal("freezer", Demo.FindSensor($"bldg-1-{lab}-freezer2")!.Kind.Id);
            Assert.Equal("fume-hood", Demo.FindSensor($"bldg-1-{lab}-hood1")!.Kind.Id);
            Assert.Equal("temperature", Demo.FindSensor($"bldg-1-{lab}-temp")!.Kind.Id);
        }
        foreach (var building in new[] { "bldg-1", "bldg-2", "bldg-3" })
        {
            var mains = Demo.FindSensor($"{building}-plant-energy")!;
            Assert.Equal(("energy-meter", "plant", building), (mains.Kind.Id, mains.Room.Id, mains.Building.Id));
            Assert.Equal("sub-meter", Demo.FindSensor($"{building}-plant-lighting")!.Kind.Id);
            Assert.Equal("sub-meter", Demo.FindSensor($"{building}-plant-hvac")!.Kind.Id);
        }
    }

    [Fact]
    public void Kinds_have_the_described_metrics_and_rollups()
    {
        (string Kind, string Metric, string Unit, RollupRole Rollup)[] expected =
        [
            ("temperature", "temperature", "°C", RollupRole.Temperature), ("temperature", "battery", "%", RollupRole.None),
            ("temperature", "rssi", "dBm", RollupRole.None),
            ("humidity", "humidity", "%", RollupRole.Humidity), ("co2", "co2", "ppm", RollupRole.Co2),
            ("occupancy", "people", "count", RollupRole.People),
            ("energy-meter", "power", "kW", RollupRole.Power), ("energy-meter", "energy", "kWh", RollupRole.Energy),
            ("sub-meter", "power", "kW", RollupRole.None), ("sub-meter", "energy", "kWh", RollupRole.None),
            ("freezer", "temperature", "°C", RollupRole.None), ("freezer", "compressor", "state", RollupRole.None),
            ("freezer", "fault", "code", RollupRole.None),
            ("fume-hood", "airflow", "m/s", RollupRole.None), ("fume-hood", "sash", "%", RollupRole.None),
            ("fume-hood", "fault", "code", RollupRole.None),
        ];
        foreach (var (kind, metric, unit, rollup) in expected)
        {
            Assert.Equal(new MetricSpec(unit, rollup), Demo.Kinds[kind].Metrics[metric]);
        }
        Assert.Equal(TimeSpan.FromSeconds(30), Demo.Kinds["freezer"].Interval);
        Assert.Equal(TimeSpan.FromSeconds(30), Demo.Kinds["fume-hood"].Interval);
        Assert.All(new[] { "temperature", "humidity", "co2", "occupancy", "energy-meter", "sub-meter" },
            k => Assert.Equal(TimeSpan.FromSeconds(60), Demo.Kinds[k].Interval));
    }

    [Fact]
    public void Kinds_have_the_described_alert_rules()
    {
        Assert.Equal(["temp-stuck", "offline"], Demo.Kinds["temperature"].Alerts.Select(a => a.Id));
        Assert.Equal(["offline"], Demo.Kinds["humidity"].Alerts.Select(a => a.Id));
        Assert.Equal(["co2-high", "offline"], Demo.Kinds["co2"].Alerts.Select(a => a.Id));
        Assert.Equal(["offline"], Demo.Kinds["occupancy"].Alerts.Select(a => a.Id));
        Assert.Equal(["offline", "meter-stuck"], Demo.Kinds["energy-meter"].Alerts.Select(a => a.Id));
        Assert.Equal(["offline"], Demo.Kinds["sub-meter"].Alerts.Select(a => a.Id));
        Assert.Equal(["freezer-warm", "freezer-fault", "offline"], Demo.Kinds["freezer"].Alerts.Select(a => a.Id));
        Assert.Equal(["airflow-low", "hood-fault", "offline"], Demo.Kinds["fume-hood"].Alerts.Select(a => a.Id));

        var stuck = Assert.IsType<StuckRule>(Demo.Kinds["temperature"].Alerts[0]);
        Assert.Equal((AlertRuleType.Stuck, "temperature", 2.0, 0.01, AlertSeverity.Warning),
            (stuck.Type, stuck.Metric, stuck.For.TotalHours, stuck.Tolerance, stuck.Severity));

        var co2 = Assert.IsType<ThresholdRule>(Demo.Kinds["co2"].Alerts[0]);
        Assert.Equal((AlertRuleType.Threshold, 1500.0, 200.0, 10.0, AlertSeverity.Warning),
            (co2.Type, co2.Above!.Value, co2.Hysteresis, co2.For.TotalMinutes, co2.Severity));

        var meter = Assert.IsType<StuckRule>(Demo.Kinds["energy-meter"].Alerts[1]);
        Assert.Equal((AlertRuleType.Stuck, "energy", 1.0), (meter.Type, meter.Metric, meter.For.TotalHours));

        var warm = Assert.IsType<ThresholdRule>(Demo.Kinds["freezer"].Alerts[0]);
        Assert.Equal((AlertRuleType.Threshold, -15.0, 2.0, 5.0, AlertSeverity.Critical),
            (warm.Type, warm.Above!.Value, warm.Hysteresis, warm.For.TotalMinutes, warm.Severity));
        var freezerFault = Assert.IsType<FaultCodeRule>(Demo.Kinds["freezer"].Alerts[1]);
        Assert.Equal((AlertRuleType.FaultCode, "fault", AlertSeverity.Critical), (freezerFault.Type, freezerFault.Metric, freezerFault.Severity));
        var freezerOffline = Assert.IsType<OfflineRule>(Demo.Kinds["freezer"].Alerts[2]);
        Assert.Equal((1.5, TimeSpan.FromSeconds(60), AlertSeverity.Warning),
            (freezerOffline.Intervals, freezerOffline.Grace, freezerOffline.Severity));

        var airflow = Assert.IsType<ThresholdRule>(Demo.Kinds["fume-hood"].Alerts[0]);
        Assert.Equal((AlertRuleType.Threshold, 0.4, 0.05, 2.0, AlertSeverity.Critical),
            (airflow.Type, airflow.Below!.Value, airflow.Hysteresis, airflow.For.TotalMinutes, airflow.Severity));
        Assert.Null(airflow.Above);
        Assert.Equal(AlertSeverity.Warning, Demo.Kinds["fume-hood"].Alerts[1].Severity);

        Assert.All(Demo.Kinds.Values.SelectMany(k => k.Alerts).OfType<OfflineRule>(),
            a => Assert.Equal((1.5, AlertSeverity.Warning), (a.Intervals, a.Severity)));
    }

    [Fact]
    public void Every_occupied_room_type_of_the_demo_has_a_timetable_and_plant_rooms_have_none()
    {
        var types = Demo.Buildings.SelectMany(b => b.Rooms).Select(r => r.Type).Where(t => t != "plant").Distinct();
        Assert.All(types, t => Assert.True(Demo.Timetables.ContainsKey(t), $"no timetable for room type '{t}'"));
        Assert.False(Demo.Timetables.ContainsKey("plant"));
        // Lectures 08:15-17:30 on weekdays: Monday 2 March 2026 08:15 is in, 17:30 and Saturday are out.
        var classroom = Demo.Timetables["classroom"];
        Assert.True(classroom.Contains(new DateTime(2026, 3, 2, 8, 15, 0)));
        Assert.False(classroom.Contains(new DateTime(2026, 3, 2, 17, 30, 0)));
        Assert.False(classroom.Contains(new DateTime(2026, 3, 7, 10, 0, 0)));
        Assert.True(Demo.Timetables["library"].Contains(new DateTime(2026, 3, 7, 10, 0, 0)));
    }

    [Fact]
    public void The_documented_example_loads()
    {
        var doc = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "registry.md"));
        const string fence = "```yaml\n";
        var start = doc.LastIndexOf(fence, StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/registry.md has no yaml example");
        start += fence.Length;
        var yaml = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        var result = CampusRegistryLoader.Load(yaml, "docs/registry.md");
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        Assert.Equal(2, result.Registry!.Sensors.Count());
        Assert.Equal(["freezer", "temperature"], result.Registry.Kinds.Keys);
    }
}
