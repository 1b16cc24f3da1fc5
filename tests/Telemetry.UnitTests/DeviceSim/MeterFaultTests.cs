using Telemetry.DeviceSim;
using Telemetry.DeviceSim.Behaviours;
using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Devices;
using Telemetry.DeviceSim.Scenarios;

namespace Telemetry.UnitTests.DeviceSim;

/// <summary>Meter reset and meter replacement: the register jumps at the fault's start and counts on from there.</summary>
public sealed class MeterFaultTests
{
    static readonly DateTimeOffset Start = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);

    // 60 kW: exactly 1 kWh a minute, so every expected register is a whole number of minutes.
    static MeterBehaviour Meter(params FaultSpec[] faults) =>
        new(_ => 60, initialKwh: 1000, SensorFaults.For("m", faults, Start));

    static double Energy(MeterBehaviour meter, TimeSpan after) => meter.Sample(Start + after)[MetricNames.Energy];

    [Fact]
    public void A_reset_drops_the_register_to_zero_at_its_start_and_it_counts_on_from_there()
    {
        var meter = Meter(new FaultSpec("m", FaultType.MeterReset, TimeSpan.FromMinutes(10.5), TimeSpan.FromMinutes(1)));

        Assert.Equal(1000, Energy(meter, TimeSpan.Zero));
        Assert.Equal(1010, Energy(meter, TimeSpan.FromMinutes(10)));
        Assert.Equal(0.5, Energy(meter, TimeSpan.FromMinutes(11)));     // reset at 10:30, half a minute since
        Assert.Equal(5.5, Energy(meter, TimeSpan.FromMinutes(16)));     // and after the fault's window it keeps counting
    }

    [Fact]
    public void A_replacement_starts_the_new_register_at_its_value_also_when_the_meter_first_samples_after_it()
    {
        var replacement = new FaultSpec("m", FaultType.MeterReplacement, TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(5), Rate: 250);

        var meter = Meter(replacement);
        Assert.Equal(1000, Energy(meter, TimeSpan.Zero));
        Assert.Equal(1020, Energy(meter, TimeSpan.FromMinutes(20)));
        Assert.Equal(260, Energy(meter, TimeSpan.FromMinutes(40)));

        var late = Meter(replacement);
        Assert.Equal(252, Energy(late, TimeSpan.FromMinutes(32)));
    }

    [Fact]
    public void Reset_then_replacement_apply_in_order_within_one_sampling_step()
    {
        var meter = Meter(
            new FaultSpec("m", FaultType.MeterReplacement, TimeSpan.FromMinutes(7), TimeSpan.FromMinutes(1), Rate: 100),
            new FaultSpec("m", FaultType.MeterReset, TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(1)));

        Assert.Equal(1000, Energy(meter, TimeSpan.Zero));
        Assert.Equal(102, Energy(meter, TimeSpan.FromMinutes(9)));
    }

    [Fact]
    public void Meter_faults_parse_from_the_command_line_and_apply_to_meters_only()
    {
        Assert.True(FaultSpec.TryParse("meter-replacement:bldg-1-plant-energy@1d+1h,rate=12345.5", out var replacement, out _));
        Assert.Equal(FaultType.MeterReplacement, replacement!.Fault);
        Assert.Equal(12345.5, replacement.EffectiveRate);
        Assert.True(FaultSpec.TryParse("meter-reset:bldg-1-plant-energy@2h+1m", out var reset, out _));
        Assert.Equal(FaultType.MeterReset, reset!.Fault);
        Assert.False(reset.HasRate);
        Assert.False(FaultSpec.TryParse("meter-reset:bldg-1-plant-energy@2h+1m,rate=3", out _, out var problem));
        Assert.Contains("takes no rate", problem, StringComparison.Ordinal);
        Assert.False(FaultSpec.TryParse("meter-replacement:bldg-1-plant-energy@2h+1m,rate=-1", out _, out _));

        var layout = CampusLayout.Generate(1, 1, 0);
        var errors = Simulator.ValidateFaults([reset, new FaultSpec("bldg-1-r101-temp", FaultType.MeterReset, TimeSpan.Zero, TimeSpan.FromMinutes(1), Origin: "--fault")], layout);
        Assert.Equal(["--fault: meter-reset does not apply to 'bldg-1-r101-temp' (kind temperature)"], errors);
    }

    [Fact]
    public void The_scenario_file_takes_meter_faults()
    {
        var loaded = ScenarioLoader.Load("""
            faults:
              - { at: 1h, sensor: bldg-1-plant-energy, fault: meter-reset, duration: 1m }
              - { at: 2h, sensor: bldg-1-plant-hvac, fault: meter-replacement, duration: 30m, rate: 5000 }
            """, "scenario.yaml");

        Assert.Empty(loaded.Errors);
        Assert.Equal([FaultType.MeterReset, FaultType.MeterReplacement], loaded.Scenario!.Faults.Select(f => f.Fault));
        Assert.Equal(5000, loaded.Scenario.Faults[1].EffectiveRate);
    }
}
