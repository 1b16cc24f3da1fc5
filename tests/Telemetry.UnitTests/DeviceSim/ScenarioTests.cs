using Telemetry.DeviceSim;
using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Scenarios;

namespace Telemetry.UnitTests.DeviceSim;

public sealed class ScenarioTests
{
    static string RepositoryFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Telemetry.sln")))
            {
                return Path.Combine(dir.FullName, relative);
            }
        }

        throw new InvalidOperationException("repository root not found");
    }

    [Fact]
    public void The_demo_scenario_loads_and_its_faults_fit_the_demo_campus()
    {
        var path = RepositoryFile("deploy/scenario.yaml");
        var result = ScenarioLoader.LoadFile(path);

        Assert.Empty(result.Errors);
        var scenario = result.Scenario!;
        Assert.Equal(Path.Combine(Path.GetDirectoryName(path)!, "campus.yaml"), scenario.Registry);
        Assert.Equal(720, scenario.Speed);
        Assert.Null(scenario.Start);
        Assert.Equal(5, scenario.Timetable!.For("classroom").Count);
        Assert.Empty(scenario.Timetable.For("plant"));
        Assert.Equal(TimeSpan.FromSeconds(3), scenario.Behaviour!.ClockSkewMax);
        Assert.Equal(0.03, scenario.Behaviour.ConnectivityLossPerHour);
        Assert.Contains(scenario.Faults, f => f is { Sensor: "bldg-1-lab1-freezer1", Fault: FaultType.FreezerFailure } && f.At == TimeSpan.FromHours(2) && f.Duration == TimeSpan.FromHours(1));
        Assert.All(scenario.Faults, f => Assert.StartsWith(path + ":", f.Origin, StringComparison.Ordinal));
        Assert.Empty(Simulator.ValidateFaults(scenario.Faults, CampusLayout.Generate(3, 10, labsPerBuilding: 2)));
    }

    [Fact]
    public void Validation_errors_name_the_line_and_the_problem()
    {
        const string yaml = """
            registry: campus.yaml
            speed: fast
            start: 2026-03-02 06:00
            timetable:
              classroom:
                - { days: mon-fri, from: 8.15, to: "09:45", occupancy: 0.8 }
                - { days: someday, from: "10:00", to: "09:00", occupancy: 1.5 }
            behaviour:
              clock-skew-max: 3 seconds
              colour: blue
            faults:
              - { at: 2x, sensor: s1, fault: freezer-failure, duration: 1h }
              - { at: 1h, sensor: s1, fault: melting, duration: 1h }
              - { at: 1h, fault: offline, duration: 1h }
              - { at: 1h, sensor: s1, fault: offline, duration: 1h, rate: 3 }
            """;
        var result = ScenarioLoader.Load(yaml, "s.yaml");

        Assert.Null(result.Scenario);
        // Line:column counted by hand in the YAML above (1-based).
        string[] expected =
        [
            "s.yaml:2:8: speed must be a number, not 'fast'",
            "s.yaml:3:8: start '2026-03-02 06:00' is not a date and time with a UTC offset",
            "s.yaml:6:30: timetable.classroom[0].from '8.15' is not a time like \"08:15\"",
            "s.yaml:7:15: timetable.classroom[1].days 'someday' is not days",
            "s.yaml:7:63: timetable.classroom[1].occupancy must be between 0 and 1, not 1.5",
            "s.yaml:9:19: behaviour.clock-skew-max '3 seconds' is not a duration",
            "s.yaml:10:3: unknown key 'colour' in behaviour",
            "s.yaml:12:11: faults[0].at '2x' is not a duration",
            "s.yaml:13:34: faults[1].fault: unknown fault 'melting'",
            "s.yaml:14:5: faults[2]: missing required key 'sensor'",
            "s.yaml:15:63: faults[3].rate: 3 is not valid for offline",
        ];
        Assert.Equal(expected.Length, result.Errors.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.StartsWith(expected[i], result.Errors[i], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Periods_must_end_after_they_start_and_broken_yaml_names_its_line()
    {
        var backwards = ScenarioLoader.Load("timetable:\n  lab:\n    - { days: mon, from: \"10:00\", to: \"09:00\", occupancy: 0.5 }\n", "t.yaml");
        Assert.Equal(["t.yaml:3:7: timetable.lab[0]: 'to' (09:00) must be after 'from' (10:00) on the same day"], backwards.Errors);

        var broken = ScenarioLoader.Load("speed: 10\nfaults:\n  - { at: 1h\n", "b.yaml");
        Assert.Single(broken.Errors);
        Assert.Matches(@"^b\.yaml:[34]:[0-9]+: YAML syntax error: ", broken.Errors[0]);

        var empty = ScenarioLoader.Load("", "e.yaml");
        Assert.Empty(empty.Errors);
        Assert.NotNull(empty.Scenario);
    }

    [Fact]
    public void A_bad_duration_an_unknown_key_and_a_duplicate_key_are_reported_at_line_and_column()
    {
        // Line:column counted by hand in the YAML below (1-based).
        var result = ScenarioLoader.Load("""
            behaviour:
              connectivity-loss: { probability: 0.1, min-duration: 1 m, max-duration: 5m }
              malformed-rate: 0.01
              malformed-rate: 0.02
            faults:
              - { at: 1h, sensor: s1, fault: offline, duration: 1h, until: 2h }
            """, "d.yaml");

        Assert.Null(result.Scenario);
        Assert.Equal(3, result.Errors.Count);
        Assert.StartsWith("d.yaml:2:56: behaviour.connectivity-loss.min-duration '1 m' is not a duration; write a number and a unit: 500ms, 30s",
            result.Errors[0], StringComparison.Ordinal);
        Assert.Equal("d.yaml:4:3: duplicate key 'malformed-rate' (first at line 3)", result.Errors[1]);
        Assert.Equal("d.yaml:6:57: unknown key 'until' in faults[0]; allowed keys: at, sensor, fault, duration, rate", result.Errors[2]);
    }

    [Fact]
    public void Durations_combine_units_and_a_fault_names_its_line_and_column()
    {
        var result = ScenarioLoader.Load("""
            behaviour: { clock-skew-max: 0 }
            faults:
              - { at: 1h30m, sensor: s1, fault: offline, duration: 1.5h }
            """, "c.yaml");

        Assert.Empty(result.Errors);
        Assert.Equal(TimeSpan.Zero, result.Scenario!.Behaviour!.ClockSkewMax);
        var fault = Assert.Single(result.Scenario.Faults);
        Assert.Equal((TimeSpan.FromMinutes(90), TimeSpan.FromMinutes(90), "c.yaml:3:5"), (fault.At, fault.Duration, fault.Origin));
    }

    [Fact]
    public void A_start_with_an_offset_and_behaviour_knobs_are_read()
    {
        var result = ScenarioLoader.Load("""
            start: 2026-03-02T06:00:00+01:00
            behaviour:
              connectivity-loss: { probability: 0.1, min-duration: 1m, max-duration: 5m }
              malformed-rate: 0.01
            """, "k.yaml");

        Assert.Empty(result.Errors);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 5, 0, 0, TimeSpan.Zero), result.Scenario!.Start);
        Assert.Equal(new DeviceBehaviour { ConnectivityLossPerHour = 0.1, ConnectivityLossMin = TimeSpan.FromMinutes(1), ConnectivityLossMax = TimeSpan.FromMinutes(5), MalformedRate = 0.01 },
            result.Scenario.Behaviour);
    }

    [Fact]
    public void Command_line_faults_parse_and_bad_ones_say_why()
    {
        Assert.True(FaultSpec.TryParse("freezer-failure:bldg-1-lab1-freezer1@10m+1h", out var fault, out _));
        Assert.Equal(new FaultSpec("bldg-1-lab1-freezer1", FaultType.FreezerFailure, TimeSpan.FromMinutes(10), TimeSpan.FromHours(1), null, "--fault"), fault);
        Assert.True(FaultSpec.TryParse("meter-drift:bldg-1-plant-energy@0+2h,rate=5", out var drift, out _));
        Assert.Equal(5, drift!.EffectiveRate);
        Assert.True(FaultSpec.TryParse("malformed-payloads:x@1d+30m", out var malformed, out _));
        Assert.Equal(FaultSpec.DefaultMalformedShare, malformed!.EffectiveRate);

        Assert.False(FaultSpec.TryParse("freezer-failure:x@10m", out _, out var missing));
        Assert.Contains("FAULT:SENSOR@AT+DURATION", missing, StringComparison.Ordinal);
        Assert.False(FaultSpec.TryParse("thaw:x@10m+1h", out _, out var unknown));
        Assert.Contains("unknown fault 'thaw'", unknown, StringComparison.Ordinal);
        Assert.False(FaultSpec.TryParse("malformed-payloads:x@1h+1h,rate=2", out _, out var rate));
        Assert.Contains("share of messages", rate, StringComparison.Ordinal);
    }

    [Fact]
    public void Faults_are_checked_against_the_campus()
    {
        var layout = CampusLayout.Generate(1, 1, labsPerBuilding: 1);
        FaultSpec[] faults =
        [
            new("bldg-9-r101-temp", FaultType.Offline, TimeSpan.Zero, TimeSpan.FromHours(1), Origin: "a.yaml:3"),
            new("bldg-1-r101-temp", FaultType.FreezerFailure, TimeSpan.Zero, TimeSpan.FromHours(1), Origin: "a.yaml:4"),
            new("bldg-1-lab1-co2", FaultType.MeterDrift, TimeSpan.Zero, TimeSpan.FromHours(1), Origin: "--fault"),
            new("bldg-1-plant-hvac", FaultType.MeterDrift, TimeSpan.Zero, TimeSpan.FromHours(1)),
            new("bldg-1-lab1-freezer2", FaultType.FreezerFailure, TimeSpan.Zero, TimeSpan.FromHours(1)),
        ];

        Assert.Equal(
        [
            "a.yaml:3: sensor 'bldg-9-r101-temp' is not on the campus",
            "a.yaml:4: freezer-failure does not apply to 'bldg-1-r101-temp' (kind temperature)",
            "--fault: meter-drift does not apply to 'bldg-1-lab1-co2' (kind co2)",
        ], Simulator.ValidateFaults(faults, layout));
        var error = Assert.Throws<ArgumentException>(() => new Simulator(new SimulatorOptions { Buildings = 1, RoomsPerBuilding = 1, Faults = faults }));
        Assert.Contains("lab1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_generated_campus_has_the_demo_kinds_and_naming()
    {
        var layout = CampusLayout.Generate(2, 3, labsPerBuilding: 1);

        Assert.Equal(2 * (3 * 4 + 6 + 3), layout.Sensors.Count);
        Assert.Equal(["co2", "energy-meter", "freezer", "fume-hood", "humidity", "occupancy", "sub-meter", "temperature"],
            layout.Registry.Kinds.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(TimeSpan.FromSeconds(30), layout.Registry.Kinds["freezer"].Interval);
        var ids = layout.Sensors.Select(s => s.Id).ToHashSet();
        Assert.Superset(new HashSet<string> { "bldg-2-r103-occ", "bldg-1-lab1-freezer2", "bldg-1-lab1-hood1", "bldg-2-plant-energy", "bldg-2-plant-lighting", "bldg-2-plant-hvac" }, ids);
        Assert.Equal(SensorModel.LightingMeter, layout.Sensors.Single(s => s.Id == "bldg-1-plant-lighting").Model);
        Assert.Equal(SensorModel.HvacMeter, layout.Sensors.Single(s => s.Id == "bldg-1-plant-hvac").Model);
        Assert.Equal("campus/bldg-1/lab1/bldg-1-lab1-freezer1/telemetry", layout.Sensors.Single(s => s.Id == "bldg-1-lab1-freezer1").Topic);
    }

    [Fact]
    public void The_simulator_reads_the_services_registry_file_and_names_the_line_of_an_error()
    {
        var demo = RegistryFile.LoadRegistry(Path.Combine(AppContext.BaseDirectory, "campus.yaml"));
        Assert.Equal(3, demo.Buildings.Count);
        Assert.NotNull(demo.FindSensor("bldg-1-lab1-freezer1"));

        var broken = Path.Combine(Directory.CreateTempSubdirectory("telemetry-sim-registry-").FullName, "campus.yaml");
        File.WriteAllText(broken, "campus:\n  id: x\nkinds: {}\nbuildings:\n  - id: b\n    rooms:\n      - id: r\n        sensors:\n          - { id: s, kind: nope }\n");
        var error = Assert.Throws<InvalidDataException>(() => RegistryFile.LoadRegistry(broken));
        Assert.Contains(":9:", error.Message, StringComparison.Ordinal);
        Assert.Contains("nope", error.Message, StringComparison.Ordinal);
        Directory.Delete(Path.GetDirectoryName(broken)!, recursive: true);
    }
}
