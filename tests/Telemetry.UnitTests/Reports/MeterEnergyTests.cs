using Telemetry.Domain.Reports;

namespace Telemetry.UnitTests.Reports;

public class MeterEnergyTests
{
    static readonly LocalCalendar Berlin = LocalCalendar.ForZone("Europe/Berlin");

    static long Ms(int month, int day, int hour, int minute = 0) =>
        new DateTimeOffset(2026, month, day, hour, minute, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    static TimedValue V(long t, double v) => new(t, v);

    [Fact]
    public void Register_differences_are_the_hourly_energy()
    {
        var readings = new[] { V(Ms(6, 10, 8), 100), V(Ms(6, 10, 9), 112), V(Ms(6, 10, 10), 130) };
        var windows = MeterEnergy.FromRegister(Berlin, ReportPeriod.Hour, readings, []);
        Assert.Equal(2, windows.Count);
        Assert.All(windows, w => Assert.Equal(EnergySource.Register, w.Source));
        Assert.Equal(12, windows[0].Kwh, 9);
        Assert.Equal(18, windows[1].Kwh, 9);
        Assert.Equal(18, windows[1].PeakKw!.Value, 9);
    }

    [Fact]
    public void A_register_going_backwards_is_a_reset_counted_from_zero()
    {
        var readings = new[] { V(Ms(6, 10, 8), 5000), V(Ms(6, 10, 9), 5010), V(Ms(6, 10, 10), 3), V(Ms(6, 10, 11), 9) };
        var windows = MeterEnergy.FromRegister(Berlin, ReportPeriod.Day, readings.Reverse(), []);
        var day = Assert.Single(windows);
        Assert.Equal(10 + 3 + 6, day.Kwh, 9);
        Assert.Equal(1, day.Resets);
        Assert.All(MeterEnergy.FromRegister(Berlin, ReportPeriod.Hour, readings, []), w => Assert.True(w.Kwh >= 0));
    }

    [Fact]
    public void A_replacement_starts_a_new_register()
    {
        // The new meter starts at 200 kWh (higher than the old one's last reading: no reset may be seen, no doubling).
        var readings = new[] { V(Ms(6, 10, 8), 100), V(Ms(6, 10, 9), 110), V(Ms(6, 10, 10), 204), V(Ms(6, 10, 11), 210) };
        var replaced = new[] { new MeterReplacement(Ms(6, 10, 9, 30), 200) };
        var windows = MeterEnergy.FromRegister(Berlin, ReportPeriod.Day, readings, replaced);
        var day = Assert.Single(windows);
        Assert.Equal(10 + 4 + 6, day.Kwh, 9);
        Assert.Equal(0, day.Resets);
    }

    [Fact]
    public void Energy_of_an_interval_across_midnight_is_shared_by_time_and_the_days_sum_to_the_total()
    {
        // 21:00Z–23:00Z on 10 June is 23:00–01:00 in Berlin: half on 10 June, half on 11 June.
        var readings = new[] { V(Ms(6, 10, 21), 0), V(Ms(6, 10, 23), 8) };
        var days = MeterEnergy.FromRegister(Berlin, ReportPeriod.Day, readings, []);
        Assert.Equal(2, days.Count);
        Assert.Equal(4, days[0].Kwh, 9);
        Assert.Equal(4, days[1].Kwh, 9);
        Assert.Equal(new DateOnly(2026, 6, 11), days[1].Window.LocalDate);
    }

    [Fact]
    public void Power_is_integrated_with_the_trapezoidal_rule()
    {
        // 0 → 10 kW over one hour: 5 kWh, split at the hour's half by the interpolated power (1.25 + 3.75 over two hours).
        var power = new[] { V(Ms(6, 10, 8, 30), 0), V(Ms(6, 10, 9, 30), 10) };
        var hours = MeterEnergy.FromPower(Berlin, ReportPeriod.Hour, power, TimeSpan.FromMinutes(90));
        Assert.Equal(2, hours.Count);
        Assert.All(hours, h => Assert.Equal(EnergySource.IntegratedPower, h.Source));
        Assert.Equal(1.25, hours[0].Kwh, 9);
        Assert.Equal(3.75, hours[1].Kwh, 9);
        Assert.Equal(10, hours[1].PeakKw);
    }

    [Fact]
    public void A_gap_longer_than_the_maximum_is_not_integrated_and_is_counted()
    {
        var power = new[] { V(Ms(6, 10, 8), 4), V(Ms(6, 10, 8, 15), 4), V(Ms(6, 10, 12), 4), V(Ms(6, 10, 12, 15), 4) };
        var day = Assert.Single(MeterEnergy.FromPower(Berlin, ReportPeriod.Day, power, TimeSpan.FromMinutes(20)));
        Assert.Equal(2, day.Kwh, 9);
        Assert.Equal(1, day.Gaps);
    }

    [Fact]
    public void Constant_power_over_the_dst_days_gives_23_and_25_hours_of_energy()
    {
        foreach (var (date, hours) in new[] { (new DateOnly(2026, 3, 29), 23), (new DateOnly(2026, 10, 25), 25) })
        {
            var day = Berlin.Day(date);
            var power = new List<TimedValue>();
            for (var t = day.StartUtc.AddHours(-1); t <= day.EndUtc.AddHours(1); t = t.AddMinutes(1))
            {
                power.Add(V(t.ToUnixTimeMilliseconds(), 1));
            }

            var energy = MeterEnergy.FromPower(Berlin, ReportPeriod.Day, power, TimeSpan.FromMinutes(5));
            Assert.Equal(hours, energy.Single(w => w.Window.LocalDate == date).Kwh, 9);
        }
    }

    [Fact]
    public void Compute_prefers_the_register_and_falls_back_to_power()
    {
        var power = new[] { V(Ms(6, 10, 8), 2), V(Ms(6, 10, 9), 2) };
        var register = new[] { V(Ms(6, 10, 8), 0), V(Ms(6, 10, 9), 3) };
        var fromRegister = Assert.Single(MeterEnergy.Compute(Berlin, ReportPeriod.Day, register, [], power, TimeSpan.FromHours(2)));
        Assert.Equal(EnergySource.Register, fromRegister.Source);
        Assert.Equal(3, fromRegister.Kwh, 9);
        Assert.Equal(2, fromRegister.PeakKw);

        var fromPower = Assert.Single(MeterEnergy.Compute(Berlin, ReportPeriod.Day, [], [], power, TimeSpan.FromHours(2)));
        Assert.Equal(EnergySource.IntegratedPower, fromPower.Source);
        Assert.Equal(2, fromPower.Kwh, 9);
    }
}
