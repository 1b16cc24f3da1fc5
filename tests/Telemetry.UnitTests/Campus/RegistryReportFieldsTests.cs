using Telemetry.Domain.Campus;
using Telemetry.Domain.Configuration;
using Telemetry.Domain.Reports;

namespace Telemetry.UnitTests.Campus;

/// <summary>
/// The registry's <c>timetables:</c> and sensor <c>replacements:</c>. Line and column numbers are counted by hand in
/// each test's YAML (1-based).
/// </summary>
public class RegistryReportFieldsTests
{
    const string Source = "test.yaml";

    const string Kinds = """
        kinds:
          energy-meter:
            interval: 60s
            metrics: { energy: { unit: kWh, rollup: energy }, power: { unit: kW, rollup: power } }
          occupancy:
            interval: 60s
            metrics: { people: { unit: count, rollup: people } }
        """;

    static CampusRegistry Loads(string yaml)
    {
        var result = CampusRegistryLoader.Load(yaml, Source);
        Assert.True(result.Succeeded, "expected no errors, got:\n" + string.Join("\n", result.Errors));
        return result.Registry!;
    }

    static IReadOnlyList<YamlError> Fails(string yaml)
    {
        var result = CampusRegistryLoader.Load(yaml, Source);
        Assert.Null(result.Registry);
        return result.Errors;
    }

    [Fact]
    public void Timetables_by_room_type_are_read_with_the_simulator_grammar()
    {
        var registry = Loads("""
            campus: { id: c, timezone: Europe/Berlin }
            timetables:
              classroom: [ { days: mon-fri, from: "08:00", to: "18:00" } ]
              lab:
                - { days: mon-fri, from: "08:00", to: "20:00" }
                - { days: sat, from: "9:00", to: "13:00" }
              store: []
            kinds: {}
            buildings: []
            """);
        Assert.Equal(["classroom", "lab", "store"], registry.Timetables.Keys.Order(StringComparer.Ordinal));
        var lab = registry.Timetables["lab"];
        Assert.Equal(2, lab.Slots.Count);
        Assert.True(lab.Contains(new DateTime(2026, 6, 13, 9, 0, 0)));      // Saturday 09:00
        Assert.False(lab.Contains(new DateTime(2026, 6, 13, 13, 0, 0)));    // 'to' is exclusive
        Assert.False(lab.Contains(new DateTime(2026, 6, 14, 10, 0, 0)));    // Sunday
        Assert.True(lab.Contains(new DateTime(2026, 6, 10, 19, 59, 0)));    // Wednesday
        Assert.Empty(registry.Timetables["store"].Slots);
        // Wednesday 10 June 2026 in Berlin: 08:00–20:00 is 720 minutes; Saturday 09:00–13:00 is 240.
        var berlin = LocalCalendar.ForZone("Europe/Berlin");
        Assert.Equal(720, lab.TimetabledMinutes(berlin, berlin.Day(new DateOnly(2026, 6, 10))));
        Assert.Equal(240, lab.TimetabledMinutes(berlin, berlin.Day(new DateOnly(2026, 6, 13))));
        Assert.Empty(CampusRegistry.Empty.Timetables);
    }

    [Fact]
    public void Timetable_mistakes_are_located()
    {
        var errors = Fails("""
            campus: { id: c }
            timetables:
              classroom:
                - { days: someday, from: "08:00", to: "18:00" }
                - { days: mon, from: 8.15, to: "18:00", room: x }
                - { days: mon, from: "18:00", to: "08:00" }
              lab:
              office: { days: mon }
            kinds: {}
            buildings: []
            """);
        string[] expected =
        [
            "test.yaml:4:15: timetables.classroom[0].days 'someday' is not days like mon-fri, sat, mon,wed,fri or daily",
            "test.yaml:5:26: timetables.classroom[1].from '8.15' is not a time like \"08:15\"",
            "test.yaml:5:45: unknown key 'room' in timetables.classroom[1]; allowed keys: days, from, to",
            "test.yaml:6:7: timetables.classroom[2]: 'to' (08:00) must be after 'from' (18:00) on the same day",
            "test.yaml:7:3: timetables.lab needs a list of periods",
            "test.yaml:8:11: timetables.office must be a list",
        ];
        Assert.Equal(expected.Length, errors.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.StartsWith(expected[i], errors[i].ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Meter_replacements_are_read_in_time_order()
    {
        var registry = Loads($$"""
            campus: { id: c }
            {{Kinds}}
            buildings:
              - id: b1
                rooms:
                  - id: plant
                    sensors:
                      - id: m1
                        kind: energy-meter
                        replacements:
                          - { at: "2026-11-12T10:00:00+01:00", register: 250.5 }
                          - { at: "2026-11-10T09:00:00Z", register: 0 }
                      - { id: m2, kind: energy-meter }
            """);
        var m1 = registry.FindSensor("m1")!.Sensor;
        Assert.Equal(
            [
                new MeterReplacement(new DateTimeOffset(2026, 11, 10, 9, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), 0),
                new MeterReplacement(new DateTimeOffset(2026, 11, 12, 9, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), 250.5),
            ],
            m1.Replacements);
        Assert.Empty(registry.FindSensor("m2")!.Sensor.Replacements);
        Assert.Equal(m1, m1 with { Replacements = [.. m1.Replacements] });
        Assert.NotEqual(m1, m1 with { Replacements = [m1.Replacements[0]] });
    }

    [Fact]
    public void Replacement_mistakes_are_located()
    {
        var errors = Fails($$"""
            campus: { id: c }
            {{Kinds}}
            buildings:
              - id: b1
                rooms:
                  - id: plant
                    sensors:
                      - id: m1
                        kind: energy-meter
                        replacements:
                          - { at: "2026-11-10 09:00", register: 0 }
                          - { at: "2026-11-10T09:00:00Z", register: -1 }
                          - { at: "2026-11-11T09:00:00Z", register: 5, when: now }
                          - { at: "2026-11-11T10:00:00+01:00", register: 7 }
                          - { register: 1 }
                      - { id: o1, kind: occupancy, replacements: [ { at: "2026-11-10T09:00:00Z", register: 0 } ] }
            """);
        // The kinds block is 7 lines (lines 2–8): the first replacement is on line 17.
        string[] expected =
        [
            "test.yaml:17:23: sensor 'm1' replacements[0] at '2026-11-10 09:00' is not a date and time with a UTC offset",
            "test.yaml:18:57: sensor 'm1' replacements[1] register must be at least 0, not -1",
            "test.yaml:19:60: unknown key 'when' in sensor 'm1' replacements[2]",
            "test.yaml:20:23: sensor 'm1' replacements[3]: a replacement at 2026-11-11T09:00:00Z is listed twice: first at line 19, again at line 20",
            "test.yaml:21:17: sensor 'm1' replacements[4]: missing required key 'at'",
            "test.yaml:22:54: sensor 'o1': replacements apply to meters with a register (a metric with rollup energy); kind 'occupancy' has none",
        ];
        Assert.Equal(expected.Length, errors.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.StartsWith(expected[i], errors[i].ToString(), StringComparison.Ordinal);
        }
    }
}
