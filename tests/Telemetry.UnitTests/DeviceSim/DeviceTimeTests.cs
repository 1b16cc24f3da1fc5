using System.Text.Json;
using Telemetry.DeviceSim;
using Telemetry.DeviceSim.Devices;
using Telemetry.DeviceSim.Mqtt;
using Telemetry.DeviceSim.Scenarios;
using Telemetry.DeviceSim.Time;

namespace Telemetry.UnitTests.DeviceSim;

public sealed class DeviceTimeTests
{
    static readonly DateTimeOffset Start = new(2026, 3, 2, 6, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Accelerated_clock_maps_wall_time_to_simulated_time_and_back()
    {
        var clock = new SimulationClock(Start, speed: 720);

        Assert.Equal(Start.AddDays(1), clock.SimulatedAt(TimeSpan.FromMinutes(2)));
        Assert.Equal(TimeSpan.FromSeconds(60) / 720, clock.ToWall(TimeSpan.FromSeconds(60)));
        Assert.Equal(83.333, clock.ToWall(TimeSpan.FromSeconds(60)).TotalMilliseconds, 3);
        Assert.Equal(TimeSpan.FromSeconds(5), clock.WallOffsetOf(Start.AddHours(1)));
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(now.AddDays(-1), SimulationClock.DefaultStart(now, TimeSpan.FromMinutes(2), 720));
        Assert.Equal(now, SimulationClock.DefaultStart(now, null, 1));
    }

    [Fact]
    public void Clock_skew_stays_within_its_bound_and_stamps_strictly_increase()
    {
        var random = new Random(3);
        var max = TimeSpan.FromSeconds(3);
        var skews = Enumerable.Range(0, 1000).Select(_ => DeviceClock.DrawSkew(random, max)).ToList();
        Assert.All(skews, s => Assert.InRange(s, -max, max));
        Assert.Contains(skews, s => s < -TimeSpan.FromSeconds(2));
        Assert.Contains(skews, s => s > TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.Zero, DeviceClock.DrawSkew(random, TimeSpan.Zero));

        var clock = new DeviceClock(TimeSpan.FromMilliseconds(-1500));
        var first = clock.Stamp(Start);
        Assert.Equal(Start.AddMilliseconds(-1500), first);
        Assert.Equal(first.AddMilliseconds(1), clock.Stamp(Start));
        Assert.Equal(Start.AddSeconds(60).AddMilliseconds(-1500), clock.Stamp(Start.AddSeconds(60)));
    }

    [Fact]
    public void Store_and_forward_batches_keep_original_timestamps_and_order()
    {
        var store = new ReadingStore(capacity: 100);
        var taken = Enumerable.Range(0, 25)
            .Select(i => new SensorReading(Start.AddSeconds(30 * i), new Dictionary<string, double> { ["temperature"] = i }))
            .ToList();
        taken.ForEach(store.Add);

        var batches = new List<SensorReading[]>();
        while (store.Count > 0)
        {
            batches.Add(store.Take(10));
        }

        Assert.Equal([10, 10, 5], batches.Select(b => b.Length));
        var uploaded = batches.SelectMany(batch =>
        {
            using var json = JsonDocument.Parse(PayloadWriter.Write(batch, TimestampFormat.EpochMilliseconds));
            Assert.Equal(JsonValueKind.Array, json.RootElement.ValueKind);
            return json.RootElement.EnumerateArray().Select(r => (r.GetProperty("ts").GetInt64(), r.GetProperty("temperature").GetDouble())).ToList();
        }).ToList();
        Assert.Equal(taken.Select(r => (r.Timestamp.ToUnixTimeMilliseconds(), r.Metrics["temperature"])), uploaded);
    }

    [Fact]
    public void A_full_store_drops_its_oldest_readings()
    {
        var store = new ReadingStore(capacity: 3);
        for (var i = 0; i < 5; i++)
        {
            store.Add(new SensorReading(Start.AddSeconds(i), new Dictionary<string, double>()));
        }

        Assert.Equal(2, store.Dropped);
        Assert.Equal([Start.AddSeconds(2), Start.AddSeconds(3), Start.AddSeconds(4)], store.Take(10).Select(r => r.Timestamp));
    }

    [Fact]
    public void Connectivity_outages_follow_the_knobs_and_repeat_for_a_seed()
    {
        var behaviour = new DeviceBehaviour { ConnectivityLossPerHour = 0.5, ConnectivityLossMin = TimeSpan.FromMinutes(5), ConnectivityLossMax = TimeSpan.FromMinutes(10) };
        List<bool> Minutes(int seed)
        {
            var plan = new ConnectivityPlan(behaviour, new Random(seed), Start);
            return [.. Enumerable.Range(0, 48 * 60).Select(m => plan.InOutage(Start.AddMinutes(m)))];
        }

        var minutes = Minutes(11);
        Assert.Equal(minutes, Minutes(11));
        var outages = minutes.Zip(minutes.Skip(1)).Count(p => !p.First && p.Second);
        Assert.InRange(outages, 8, 60);                                  // about 0.7 an hour over 48 hours
        var offline = minutes.Count(m => m);
        Assert.InRange(offline, outages * 4, outages * 11);
        var never = new ConnectivityPlan(DeviceBehaviour.None, new Random(1), Start);
        Assert.False(never.InOutage(Start.AddDays(3)));
    }
}
