using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Sensors;

namespace Telemetry.UnitTests.Sensors;

/// <summary>The sensor's logic without Orleans: messages and clock ticks in, what to store, publish and report out.</summary>
public sealed class SensorModelTests
{
    const long T0 = 1_700_000_040_000; // a minute boundary
    const string Building = "b1";
    const string Lab = "lab";

    static readonly SensorSettings Settings = new(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(2),
        TimeSpan.FromMinutes(1), AlertEngineOptions.Default);

    static readonly ThresholdRule Warm = new("freezer-warm", AlertSeverity.Critical, "temperature", Above: -15, Hysteresis: 2,
        For: TimeSpan.FromMinutes(1));

    static readonly OfflineRule Offline = new("offline", AlertSeverity.Warning, Intervals: 2);

    readonly TestClock clock = new(T0);

    [Fact]
    public void A_reading_in_a_later_window_closes_the_earlier_one_at_the_registered_address()
    {
        var registry = Registry(Kind("freezer"));
        var model = Model("frz");
        var output = new SensorOutput();

        Ingest(model, registry, output, Message("frz", (T0 + 10_000, -20)), Message("frz", (T0 + 30_000, -22)));
        Assert.Empty(output.Rollups);

        Ingest(model, registry, output, Message("frz", (T0 + 61_000, -19), room: "elsewhere"));
        var (where, kind, point) = Assert.Single(output.Rollups);
        Assert.Equal(new SensorAddress(Building, Lab, "frz"), where);
        Assert.Equal("freezer", kind);
        Assert.Equal((T0, -22.0, -20.0, -21.0, 2L, -22.0), (point.WindowStartMs, point.Min, point.Max, point.Mean, point.Count, point.Last));
        Assert.Equal(3, output.Raw.Count);
        Assert.All(output.Raw, r => Assert.False(r.Unregistered));
    }

    [Fact]
    public void Last_values_are_the_newest_by_reading_time_not_by_arrival()
    {
        var model = Model("frz");
        var output = new SensorOutput();

        Ingest(model, Registry(Kind("freezer")), output, Message("frz", (T0 + 20_000, -18)), Message("frz", (T0 + 5_000, -25)));

        var snapshot = model.Snapshot!;
        Assert.Equal(-18, snapshot.LastValues["temperature"]);
        Assert.Equal(T0 + 20_000, snapshot.LastReadingMs);
        Assert.Equal((2L, 2L), (snapshot.MessagesTotal, snapshot.ReadingsTotal));
    }

    [Fact]
    public void The_room_report_converts_watts_to_kilowatts_and_watt_hours_to_kilowatt_hours()
    {
        var meter = new SensorKind("meter-w", new Dictionary<string, MetricSpec>(StringComparer.Ordinal)
        {
            ["power"] = new("W", RollupRole.Power),
            ["energy"] = new("Wh", RollupRole.Energy),
            ["battery"] = new("%", RollupRole.None),
        }, AlertRuleSet.Create(TimeSpan.FromHours(1)));
        var model = Model("sub");
        var output = new SensorOutput();

        Ingest(model, Registry(meter), output, Message("sub", (T0, 2_500), metric: "power"), Message("sub", (T0, 12_345), metric: "energy"));

        var report = model.Report(force: false)!;
        Assert.Equal((Building, Lab), (report.Building, report.Room));
        Assert.Equal(2.5, report.Report.PowerKw);
        Assert.Equal(12.345, report.Report.EnergyKwh);
        Assert.True(report.Report.Online);
        Assert.True(report.OnlineChanged);
        Assert.Null(report.Report.TemperatureC);
    }

    [Fact]
    public void A_silent_sensor_goes_offline_at_a_tick_and_comes_back_with_its_next_message()
    {
        var registry = Registry(Kind("beacon", TimeSpan.FromSeconds(10), Offline));
        var model = Model("bcn");
        var output = new SensorOutput();
        Ingest(model, registry, output, Message("bcn", (T0, 1), metric: "battery"));
        Assert.True(model.Report(force: false)!.Report.Online);

        clock.Advance(TimeSpan.FromSeconds(19));
        model.Tick(registry, output);
        Assert.Empty(output.Steps);

        clock.Advance(TimeSpan.FromSeconds(2));
        model.Tick(registry, output);
        var raised = Assert.Single(output.Steps);
        Assert.Equal((AlertEvent.Raised, AlertRuleType.Offline), (raised.Event, raised.Alert.RuleType));
        var offline = model.Report(force: true)!;
        Assert.False(offline.Report.Online);
        Assert.True(offline.OnlineChanged);
        Assert.False(model.Status()!.Online);

        output.Clear();
        Ingest(model, registry, output, Message("bcn", (clock.NowMs, 1), metric: "battery"));
        Assert.Equal(AlertEvent.Cleared, Assert.Single(output.Steps).Event);
        Assert.True(model.Report(force: false)!.Report.Online);
    }

    [Fact]
    public void A_threshold_held_for_its_duration_raises_one_alert_placed_in_the_registered_room()
    {
        var registry = Registry(Kind("freezer", rules: [Warm]));
        var model = Model("frz");
        var output = new SensorOutput();

        Ingest(model, registry, output, Message("frz", (T0, -10)), Message("frz", (T0 + 30_000, -9)));
        Assert.Empty(output.Steps);
        Ingest(model, registry, output, Message("frz", (T0 + 60_000, -8)), Message("frz", (T0 + 90_000, -8)));

        var step = Assert.Single(output.Steps);
        Assert.Equal((AlertEvent.Raised, "freezer-warm", Building, Lab, T0 + 60_000),
            (step.Event, step.Alert.Rule, step.Alert.Building, step.Alert.Room, step.AtMs));
        Assert.Single(model.Alerts);
    }

    [Fact]
    public void A_kind_that_loses_its_rule_in_a_reload_clears_the_open_alert()
    {
        var model = Model("frz");
        var output = new SensorOutput();
        Ingest(model, Registry(Kind("freezer", rules: [Warm])), output, Message("frz", (T0, -5)), Message("frz", (T0 + 60_000, -5)));
        Assert.Equal(AlertEvent.Raised, Assert.Single(output.Steps).Event);

        output.Clear();
        model.Refresh(Registry(Kind("freezer")), output);

        var cleared = Assert.Single(output.Steps);
        Assert.Equal((AlertEvent.Cleared, Alert.ClearedByRuleRemoved), (cleared.Event, cleared.Alert.ClearedBy));
        Assert.True(output.RegistrationChanged);
        Assert.Empty(model.Alerts);
    }

    [Fact]
    public void Saved_alert_state_that_does_not_restore_starts_the_alerts_afresh_and_is_reported()
    {
        var registry = Registry(Kind("freezer", rules: [Warm]));
        var foreign = new SensorAlertEngine("other-sensor", AlertRuleSet.Create(TimeSpan.FromHours(1), Warm), null, AlertEngineOptions.Default, T0).State;
        var model = new SensorModel("frz", new SensorState(foreign, null, 0, 0, 0), Settings, clock, out _);
        var output = new SensorOutput();

        Ingest(model, registry, output, Message("frz", (T0, -5)), Message("frz", (T0 + 60_000, -5)));

        Assert.True(output.EngineProblemChanged);
        var problem = model.EngineProblem!;
        Assert.Equal((AlertEngineFault.SavedState, "saved state"), (problem.Fault, problem.Culprit));
        Assert.Contains("other-sensor", problem.Error, StringComparison.Ordinal);
        Assert.Equal(AlertEvent.Raised, Assert.Single(output.Steps).Event);
        Assert.Equal(2, output.Raw.Count);
    }

    [Fact]
    public void Without_any_engine_the_sensor_still_stores_its_readings_and_roll_ups()
    {
        var broken = Settings with { AlertOptions = new AlertEngineOptions { FlapThreshold = -1 } };
        var model = new SensorModel("frz", null, broken, clock, out _);
        var output = new SensorOutput();

        Ingest(model, Registry(Kind("freezer", rules: [Warm])), output, Message("frz", (T0, -5)), Message("frz", (T0 + 60_000, -5)));
        model.Tick(Registry(Kind("freezer", rules: [Warm])), output);

        Assert.Equal((AlertEngineFault.Engine, "alert engine"), (model.EngineProblem!.Fault, model.EngineProblem.Culprit));
        Assert.Equal(2, output.Raw.Count);
        Assert.Single(output.Rollups);
        Assert.Empty(output.Steps);
        Assert.Empty(model.Alerts);
        Assert.True(model.Report(force: false)!.Report.Online);
    }

    [Fact]
    public void A_sensor_removed_from_the_registry_has_its_engine_problem_resolved()
    {
        var foreign = new SensorAlertEngine("other-sensor", AlertRuleSet.Create(TimeSpan.FromHours(1), Warm), null, AlertEngineOptions.Default, T0).State;
        var model = new SensorModel("frz", new SensorState(foreign, null, 0, 0, 0), Settings, clock, out _);
        var output = new SensorOutput();
        model.Refresh(Registry(Kind("freezer", rules: [Warm])), output);
        Assert.NotNull(model.EngineProblem);

        output.Clear();
        var kind = Kind("freezer", rules: [Warm]);
        model.Refresh(new CampusRegistry(new CampusInfo("c", "Campus", "UTC"), UnregisteredPolicy.Accept, ComfortBands.Default,
            new Dictionary<string, SensorKind>(StringComparer.Ordinal) { [kind.Id] = kind }, []), output);

        Assert.True(output.EngineProblemChanged);
        Assert.Null(model.EngineProblem);
        Assert.Null(model.TickPeriod);
    }

    [Fact]
    public void A_batch_accepted_together_and_applied_in_order_gives_what_one_message_at_a_time_gives()
    {
        var registry = Registry(Kind("freezer", rules: [Warm]));
        TelemetryMessage[] messages =
        [
            Message("frz", (T0 + 5_000, -10)), Message("frz", (T0 + 65_000, -9)), Message("frz", (T0 + 20_000, -30)),
            Message("frz", (T0 + 125_000, -8)),
        ];
        var single = new SensorOutput();
        var one = Model("frz");
        Ingest(one, registry, single, messages);

        var batch = new SensorOutput();
        var all = Model("frz");
        foreach (var message in messages)
        {
            all.Accept(message, registry, batch);
        }

        foreach (var message in messages)
        {
            all.Apply(message, batch);
        }

        Assert.NotEmpty(single.Rollups);
        Assert.NotEmpty(single.Steps);
        Assert.Equal(single.Rollups, batch.Rollups);
        Assert.Equal(single.Steps, batch.Steps);
        Assert.Equal(one.Snapshot!.LastValues, all.Snapshot!.LastValues);
    }

    SensorModel Model(string sensorId) => new(sensorId, null, Settings, clock, out _);

    /// <summary>Each message accepted, "stored", then applied, as the grain does.</summary>
    static void Ingest(SensorModel model, CampusRegistry registry, SensorOutput output, params TelemetryMessage[] messages)
    {
        foreach (var message in messages)
        {
            model.Accept(message, registry, output);
            model.Apply(message, output);
        }
    }

    TelemetryMessage Message(string sensor, (long At, double Value) reading, string metric = "temperature", string room = Lab) =>
        new(new SensorAddress(Building, room, sensor), [new Reading(reading.At, [new Metric(metric, reading.Value)])], clock.NowMs);

    static SensorKind Kind(string id, TimeSpan? interval = null, params AlertRule[] rules) =>
        new(id, new Dictionary<string, MetricSpec>(StringComparer.Ordinal)
        {
            ["temperature"] = new("°C", RollupRole.None),
            ["battery"] = new("%", RollupRole.None),
        }, AlertRuleSet.Create(interval ?? TimeSpan.FromHours(1), rules));

    /// <summary>One building, one lab, sensors "frz", "sub" and "bcn" of <paramref name="kind"/>.</summary>
    static CampusRegistry Registry(SensorKind kind) => new(
        new CampusInfo("c", "Campus", "UTC"),
        UnregisteredPolicy.Accept,
        ComfortBands.Default,
        new Dictionary<string, SensorKind>(StringComparer.Ordinal) { [kind.Id] = kind },
        [new Building(Building, "B1", [new Room(Lab, "Lab", "lab", 4, [new Sensor("frz", kind.Id), new Sensor("sub", kind.Id), new Sensor("bcn", kind.Id)])])]);

    /// <summary>A clock the test moves (hand-written: one override; no testing package is referenced for it).</summary>
    sealed class TestClock(long startMs) : TimeProvider
    {
        DateTimeOffset now = DateTimeOffset.FromUnixTimeMilliseconds(startMs);

        public long NowMs => now.ToUnixTimeMilliseconds();

        public void Advance(TimeSpan by) => now += by;

        public override DateTimeOffset GetUtcNow() => now;
    }
}
