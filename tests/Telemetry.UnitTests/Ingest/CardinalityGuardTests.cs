using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Ingest;

namespace Telemetry.UnitTests.Ingest;

public class CardinalityGuardTests
{
    /// <summary>A clock the test moves by hand.</summary>
    sealed class ManualClock : TimeProvider
    {
        long ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => ticks;

        public void Advance(TimeSpan by) => ticks += by.Ticks;
    }

    static readonly SensorKind Thermo = SensorKind.Create("thermo",
        new Dictionary<string, MetricSpec> { ["temperature"] = new("°C", RollupRole.None), ["battery"] = new("%", RollupRole.None) },
        TimeSpan.FromMinutes(1));

    static RegisteredSensor Registered(string id) =>
        new(new Sensor(id, Thermo.Id), Thermo, new Building("b", "B", []), new Room("r", "R", "lab", 1, []));

    static IReadOnlyList<Reading> Readings(params string[] names) => [new Reading(1, [.. names.Select(n => new Metric(n, 1))])];

    static bool Admit(CardinalityGuard guard, string sensor, IngestLimits limits, out Refusal refusal, params string[] names) =>
        guard.TryAdmit(sensor, null, Readings(names), limits, out refusal);

    [Fact]
    public void New_unregistered_sensors_beyond_the_per_minute_limit_are_refused_until_the_next_minute()
    {
        var clock = new ManualClock();
        var guard = new CardinalityGuard(clock);
        var limits = new IngestLimits { MaxNewUnregisteredSensorsPerMinute = 3 };

        for (var i = 0; i < 3; i++)
        {
            Assert.True(Admit(guard, $"s{i}", limits, out _, "t"));
        }

        Assert.False(Admit(guard, "s3", limits, out var refusal, "t"));
        Assert.Equal("too_many_new_sensors", refusal.Code);
        Assert.True(Admit(guard, "s0", limits, out _, "t")); // already admitted: unaffected
        Assert.True(guard.TryAdmit("reg", Registered("reg"), Readings("temperature"), limits, out _)); // registered: unaffected

        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.False(Admit(guard, "s3", limits, out _, "t"));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(Admit(guard, "s3", limits, out _, "t"));
        Assert.Equal(4, guard.UnregisteredSensorsAdmitted);
    }

    [Fact]
    public void The_total_of_unregistered_sensors_is_capped()
    {
        var clock = new ManualClock();
        var guard = new CardinalityGuard(clock);
        var limits = new IngestLimits { MaxNewUnregisteredSensorsPerMinute = 100, MaxUnregisteredSensors = 2 };

        Assert.True(Admit(guard, "a", limits, out _, "t"));
        Assert.True(Admit(guard, "b", limits, out _, "t"));
        clock.Advance(TimeSpan.FromHours(1));
        Assert.False(Admit(guard, "c", limits, out var refusal, "t"));
        Assert.Equal(RefusalReason.UnregisteredSensorLimit, refusal.Reason);
        Assert.True(Admit(guard, "a", limits, out _, "t"));
    }

    [Fact]
    public void A_message_refused_by_one_limit_uses_up_nothing_of_another()
    {
        var guard = new CardinalityGuard(new ManualClock());
        var limits = new IngestLimits { MaxNewUnregisteredSensorsPerMinute = 1, MaxMetricsPerSensor = 2 };

        Assert.False(Admit(guard, "a", limits, out var refusal, "x", "y", "z"));
        Assert.Equal(RefusalReason.SensorMetricLimit, refusal.Reason);
        Assert.Equal(0, guard.UnregisteredSensorsAdmitted);
        Assert.True(Admit(guard, "a", limits, out _, "x", "y")); // the minute's one new sensor is still there
    }

    [Fact]
    public void Distinct_metric_names_per_sensor_are_capped_and_known_ones_stay_accepted()
    {
        var guard = new CardinalityGuard(new ManualClock());
        var limits = new IngestLimits { MaxMetricsPerSensor = 3 };

        Assert.True(Admit(guard, "a", limits, out _, "m1", "m2"));
        Assert.True(Admit(guard, "a", limits, out _, "m3"));
        Assert.False(Admit(guard, "a", limits, out var refusal, "m1", "m4"));
        Assert.Equal("sensor_metric_limit", refusal.Code);
        Assert.True(Admit(guard, "a", limits, out _, "m1", "m2", "m3"));
        Assert.True(Admit(guard, "b", limits, out _, "m4")); // another sensor has its own names
    }

    [Fact]
    public void A_huge_message_of_new_names_is_refused_without_counting_them_all()
    {
        var guard = new CardinalityGuard(new ManualClock());
        var limits = new IngestLimits { MaxMetricsPerSensor = 4 };
        var names = Enumerable.Range(0, 1000).Select(i => $"m{i}").ToArray();

        Assert.False(Admit(guard, "a", limits, out var refusal, names));
        Assert.Equal(RefusalReason.SensorMetricLimit, refusal.Reason);
        Assert.Contains("at least 5", refusal.Detail, StringComparison.Ordinal);
        Assert.Equal(0, guard.TrackedSensors);
    }

    [Fact]
    public void Distinct_metric_names_per_kind_are_capped_across_its_sensors()
    {
        var guard = new CardinalityGuard(new ManualClock());
        var limits = new IngestLimits { MaxMetricsPerKind = 3 };

        Assert.True(Admit(guard, "a", limits, out _, "m1", "m2"));
        Assert.True(Admit(guard, "b", limits, out _, "m2", "m3"));
        Assert.False(Admit(guard, "c", limits, out var refusal, "m4"));
        Assert.Equal("kind_metric_limit", refusal.Code);
        Assert.True(Admit(guard, "c", limits, out _, "m1", "m3"));

        // A registered kind counts apart from the unregistered sensors.
        Assert.True(guard.TryAdmit("reg", Registered("reg"), Readings("m4", "m5", "m6"), limits, out _));
    }

    [Fact]
    public void Metrics_a_registered_kind_lists_are_never_counted()
    {
        var guard = new CardinalityGuard(new ManualClock());
        var limits = new IngestLimits { MaxMetricsPerSensor = 1, MaxMetricsPerKind = 1 };

        Assert.True(guard.TryAdmit("reg", Registered("reg"), Readings("temperature", "battery"), limits, out _));
        Assert.Equal(0, guard.TrackedSensors);
        Assert.True(guard.TryAdmit("reg", Registered("reg"), Readings("temperature", "extra"), limits, out _));
        Assert.False(guard.TryAdmit("reg", Registered("reg"), Readings("temperature", "other"), limits, out var refusal));
        Assert.Equal(RefusalReason.SensorMetricLimit, refusal.Reason);
    }

    [Fact]
    public void An_unregistered_sensor_gets_at_most_the_configured_locations_per_hour()
    {
        var clock = new ManualClock();
        var guard = new CardinalityGuard(clock);
        var limits = new IngestLimits { MaxLocationsPerSensorPerHour = 2 };
        bool At(string building, string room, out Refusal refusal) =>
            guard.TryAdmit(new SensorAddress(building, room, "wanderer"), null, Readings("temperature"), limits, out refusal);

        Assert.True(At("b1", "r1", out _));
        Assert.True(At("b2", "r1", out _));
        Assert.True(At("b1", "r1", out _)); // moving back to a pair of this hour is fine
        Assert.False(At("b3", "r1", out var refusal));
        Assert.Equal(RefusalReason.SensorLocationLimit, refusal.Reason);
        Assert.False(At("b1", "r2", out _));

        clock.Advance(TimeSpan.FromHours(1));
        Assert.True(At("b3", "r1", out _));
        Assert.True(At("b1", "r2", out _));
        Assert.False(At("b9", "r9", out _));
    }

    [Fact]
    public void A_registered_sensor_is_not_bounded_by_location_here()
    {
        var guard = new CardinalityGuard(new ManualClock());
        var limits = new IngestLimits { MaxLocationsPerSensorPerHour = 1 };
        var sensor = Registered("s1");

        for (var i = 0; i < 5; i++)
        {
            Assert.True(guard.TryAdmit(new SensorAddress($"b{i}", "r", "s1"), sensor, Readings("temperature"), limits, out _));
        }
    }

    [Fact]
    public void A_location_refusal_leaves_nothing_behind_for_a_new_sensor_refused_by_another_limit()
    {
        var guard = new CardinalityGuard(new ManualClock());
        var limits = new IngestLimits { MaxMetricsPerSensor = 1, MaxLocationsPerSensorPerHour = 1 };

        Assert.False(guard.TryAdmit(new SensorAddress("b1", "r", "fresh"), null, Readings("a", "b"), limits, out var refusal));
        Assert.Equal(RefusalReason.SensorMetricLimit, refusal.Reason);
        // The refused message took no location: the sensor's first admitted message may still choose its own.
        Assert.True(guard.TryAdmit(new SensorAddress("b2", "r", "fresh"), null, Readings("a"), limits, out _));
        Assert.False(guard.TryAdmit(new SensorAddress("b1", "r", "fresh"), null, Readings("a"), limits, out _));
    }
}
