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
        Assert.Equal((false, TimeSpan.FromMilliseconds(500)), throttle.Check(Other, "victim")); // the user from elsewhere: delayed, never locked out
        Assert.Equal((false, TimeSpan.Zero), throttle.Check(Other, "bystander"));
    }

    [Fact]
    public void Failures_spread_over_many_addresses_delay_a_username_but_never_lock_it()
    {
        var throttle = Create(o => o.MaxDelay = TimeSpan.FromSeconds(5));
        for (var i = 0; i < 50; i++)
        {
            throttle.Failed(IPAddress.Parse($"198.51.100.{i + 1}"), "freezer-1");
        }

        var (locked, delay) = throttle.Check(IPAddress.Parse("192.0.2.99"), "freezer-1");
        Assert.False(locked);
        Assert.Equal(TimeSpan.FromSeconds(5), delay);
    }

    [Fact]
    public void A_username_guessed_from_one_address_is_locked_there_as_a_pair_when_the_address_key_is_off()
    {
        var throttle = Create(o => o.PerAddress = false);
        for (var i = 0; i < 10; i++)
        {
            throttle.Failed(Attacker, "victim");
        }

        Assert.True(throttle.Check(Attacker, "victim").Locked);
        Assert.False(throttle.Check(Attacker, "bystander").Locked);
        Assert.False(throttle.Check(Other, "victim").Locked);
    }

    [Fact]
    public void IPv6_addresses_count_by_their_64_prefix()
    {
        var throttle = Create(o => o.PerUsername = false);
        for (var i = 0; i < 10; i++)
        {
            throttle.Failed(IPAddress.Parse($"2001:db8:1:2::{i + 1:x}"), "x");
        }

        Assert.True(throttle.Check(IPAddress.Parse("2001:db8:1:2:ffff::1"), "y").Locked, "another address of the same /64");
        Assert.False(throttle.Check(IPAddress.Parse("2001:db8:1:3::1"), "y").Locked, "another /64");
    }

    [Fact]
    public void At_most_the_configured_number_of_checks_per_address_run_at_once()
    {
        var throttle = Create(o => o.MaxInFlightPerAddress = 2);
        using var first = throttle.TryEnter(Attacker);
        var second = throttle.TryEnter(IPAddress.Parse("::ffff:192.0.2.10"));
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(throttle.TryEnter(Attacker));
        using var other = throttle.TryEnter(Other);
        Assert.NotNull(other);
        second!.Dispose();
        second.Dispose();
        using var third = throttle.TryEnter(Attacker);
        Assert.NotNull(third);
        Assert.Null(throttle.TryEnter(Attacker));
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
