using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Sensors;

namespace Telemetry.UnitTests.Sensors;

/// <summary>
/// A sensor while its node's registry disagrees with the cluster's (a rollout in progress): a registration change that
/// would close and drop its alert state waits until the nodes agree, and alert state that no registry on this node has
/// taken up is kept as saved, not erased.
/// </summary>
public sealed class SensorRegistryHoldTests
{
    const long T0 = 1_700_000_040_000;
    const string Building = "b1";
    const string Lab = "lab";

    static readonly SensorSettings Settings = new(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(2),
        TimeSpan.FromMinutes(1), AlertEngineOptions.Default);

    static readonly ThresholdRule Warm = new("freezer-warm", AlertSeverity.Critical, "temperature", Above: -15, Hysteresis: 2,
        For: TimeSpan.FromMinutes(1));

    readonly Clock clock = new(T0);

    [Fact]
    public void While_held_a_reload_that_removes_the_rule_keeps_the_open_alert_and_applies_once_the_nodes_agree()
    {
        var before = Registry(Kind(Warm), "frz");
        var after = Registry(Kind(), "frz");
        var model = new SensorModel("frz", null, Settings, clock, out _);
        var output = new SensorOutput();
        RaiseWarm(model, before, output);

        output.Clear();
        model.Tick(model.RegistryToApply(after, holdChanges: true), output);
        Assert.Same(before, model.RegistryToApply(after, holdChanges: true));
        Assert.Empty(output.Steps);
        Assert.False(output.RegistrationChanged);
        Assert.Equal("freezer-warm", Assert.Single(model.Alerts).Rule);
        Assert.Contains(model.Save().Alerts!.Rules, r => r.RuleId == "freezer-warm" && r.Alert is not null);

        model.Tick(model.RegistryToApply(after, holdChanges: false), output);
        var cleared = Assert.Single(output.Steps);
        Assert.Equal((AlertEvent.Cleared, Alert.ClearedByRuleRemoved), (cleared.Event, cleared.Alert.ClearedBy));
        Assert.Empty(model.Alerts);
    }

    [Fact]
    public void While_held_a_reload_that_unregisters_the_sensor_keeps_its_registration_and_alert()
    {
        var before = Registry(Kind(Warm), "frz");
        var without = Registry(Kind(Warm), "other");
        var model = new SensorModel("frz", null, Settings, clock, out _);
        var output = new SensorOutput();
        RaiseWarm(model, before, output);

        output.Clear();
        model.Accept(Message("frz", (clock.NowMs, -4)), model.RegistryToApply(without, holdChanges: true), output);
        Assert.NotNull(model.Registered);
        Assert.False(Assert.Single(output.Raw).Unregistered);
        Assert.Single(model.Alerts);
        Assert.Empty(output.Steps);
    }

    [Fact]
    public void A_sensor_that_has_applied_no_registry_takes_the_nodes_even_when_held()
    {
        var registry = Registry(Kind(Warm), "frz");
        var model = new SensorModel("frz", null, Settings, clock, out _);

        Assert.Same(registry, model.RegistryToApply(registry, holdChanges: true));
    }

    [Fact]
    public void Saved_alert_state_of_a_sensor_this_node_does_not_register_is_saved_again_unchanged()
    {
        var registered = Registry(Kind(Warm), "frz");
        var first = new SensorModel("frz", null, Settings, clock, out _);
        var output = new SensorOutput();
        RaiseWarm(first, registered, output);
        var saved = first.Save();

        // Activated on a node whose registry does not list the sensor (e.g. one not yet rolled out to).
        var elsewhere = new SensorModel("frz", saved, Settings, clock, out _);
        output.Clear();
        elsewhere.Refresh(Registry(Kind(Warm), "other"), output);
        elsewhere.Accept(Message("frz", (clock.NowMs, -3)), Registry(Kind(Warm), "other"), output);
        Assert.Null(elsewhere.Registered);
        Assert.Empty(output.Steps);
        Assert.Same(saved.Alerts, elsewhere.Save().Alerts);

        // Back on a node that registers it: the open alert is still there.
        var back = new SensorModel("frz", elsewhere.Save(), Settings, clock, out _);
        back.Refresh(registered, output);
        Assert.Equal("freezer-warm", Assert.Single(back.Alerts).Rule);
    }

    void RaiseWarm(SensorModel model, CampusRegistry registry, SensorOutput output)
    {
        foreach (var message in new[] { Message("frz", (T0, -5)), Message("frz", (T0 + 60_000, -5)) })
        {
            model.Accept(message, registry, output);
            model.Apply(message, output);
        }

        Assert.Equal(AlertEvent.Raised, Assert.Single(output.Steps).Event);
    }

    TelemetryMessage Message(string sensor, (long At, double Value) reading) =>
        new(new SensorAddress(Building, Lab, sensor), [new Reading(reading.At, [new Metric("temperature", reading.Value)])], clock.NowMs);

    static SensorKind Kind(params AlertRule[] rules) =>
        new("freezer", new Dictionary<string, MetricSpec>(StringComparer.Ordinal) { ["temperature"] = new("°C", RollupRole.None) },
            AlertRuleSet.Create(TimeSpan.FromHours(1), rules));

    static CampusRegistry Registry(SensorKind kind, string sensor) => new(
        new CampusInfo("c", "Campus", "UTC"),
        UnregisteredPolicy.Accept,
        ComfortBands.Default,
        new Dictionary<string, SensorKind>(StringComparer.Ordinal) { [kind.Id] = kind },
        [new Building(Building, "B1", [new Room(Lab, "Lab", "lab", 4, [new Sensor(sensor, kind.Id)])])]);

    /// <summary>A fixed clock (hand-written: one override).</summary>
    sealed class Clock(long startMs) : TimeProvider
    {
        public long NowMs { get; } = startMs;

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(NowMs);
    }
}
