using System.Net;
using Microsoft.Extensions.Options;
using Telemetry.Broker;
using Telemetry.Broker.Identity;

namespace Telemetry.UnitTests.Identity;

/// <summary>The failed-login throttle: delays that grow, a lockout after the burst, keys kept apart, memory bounded.</summary>
public sealed class LoginThrottleTests
{
    static LoginThrottle Create(Action<LoginThrottleOptions>? configure = null)
    {
        var options = new BrokerOptions();
        configure?.Invoke(options.LoginThrottle);
        return new LoginThrottle(Options.Create(options), TimeProvider.System);
    }

    static readonly IPAddress Attacker = IPAddress.Parse("192.0.2.10");
    static readonly IPAddress Other = IPAddress.Parse("192.0.2.20");

    [Fact]
    public void Each_failure_doubles_the_delay_up_to_the_cap_and_the_burst_locks_address_and_user()
    {
        var throttle = Create(o =>
        {
            o.FirstDelay = TimeSpan.FromMilliseconds(100);
            o.MaxDelay = TimeSpan.FromMilliseconds(500);
        });
        Assert.Equal((false, TimeSpan.Zero), throttle.Check(Attacker, "victim"));

        var delays = new List<TimeSpan>();
        for (var i = 0; i < 9; i++)
        {
            throttle.Failed(Attacker, "victim");
            delays.Add(throttle.Check(Attacker, "victim").Delay);
        }

        Assert.Equal([100, 200, 400, 500, 500, 500, 500, 500, 500], delays.Select(d => (int)d.TotalMilliseconds));
        throttle.Failed(Attacker, "victim");
        Assert.True(throttle.Check(Attacker, "victim").Locked);
        Assert.True(throttle.Check(Attacker, "someone-else").Locked, "the address is locked for every user");
        Assert.True(throttle.Check(Other, "victim").Locked, "the user is locked from every address");
        Assert.Equal((false, TimeSpan.Zero), throttle.Check(Other, "bystander"));
    }

    [Fact]
    public void Keys_can_be_switched_off()
    {
        var throttle = Create(o => o.PerUsername = false);
        for (var i = 0; i < 10; i++)
        {
            throttle.Failed(Attacker, "victim");
        }

        Assert.True(throttle.Check(Attacker, "x").Locked);
        Assert.False(throttle.Check(Other, "victim").Locked);
    }

    [Fact]
    public void Rotating_addresses_and_usernames_cannot_grow_the_tracked_keys_beyond_the_cap()
    {
        var throttle = Create(o => o.MaxTrackedKeys = 1000);
        for (var i = 0; i < 20_000; i++)
        {
            throttle.Failed(new IPAddress(BitConverter.GetBytes(0x0A000000 + i)), $"user-{i}");
        }

        Assert.InRange(throttle.TrackedKeys, 1, 1001);
        // Beyond the cap the rotating keys share one limiter: the rotation itself is throttled.
        Assert.True(throttle.Check(IPAddress.Parse("10.200.0.1"), "brand-new-user").Locked);
    }
}
