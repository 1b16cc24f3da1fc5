using Telemetry.Broker.Identity;

namespace Telemetry.UnitTests.Identity;

/// <summary>Client id ownership: atomic claims, the device's own id reclaimed from a squatter, exact-claim removal.</summary>
public sealed class ClientIdOwnersTests
{
    static readonly ConnectionIdentity Freezer = new("freezer-1", IdentitySource.Password, "h1");
    static readonly ConnectionIdentity Intruder = new("intruder", IdentitySource.Password, "h2");

    [Fact]
    public void Another_identity_cannot_take_a_held_id_but_the_identity_named_like_it_reclaims_it()
    {
        var owners = new ClientIdOwners();
        Assert.Equal(ClaimResult.Claimed, owners.TryClaim("freezer-1", Intruder, out var squat));
        Assert.Equal(ClaimResult.InUse, owners.TryClaim("freezer-1", new ConnectionIdentity("other", IdentitySource.Certificate), out var none));
        Assert.Null(none);
        Assert.Equal(ClaimResult.InUse, owners.TryClaim("freezer-1", ConnectionIdentity.Anonymous, out _));
        Assert.Equal(ClaimResult.Reclaimed, owners.TryClaim("freezer-1", Freezer, out var real));
        Assert.Same(Freezer, owners.OwnerOf("freezer-1"));
        Assert.Equal(ClaimResult.InUse, owners.TryClaim("freezer-1", Intruder, out _));
        Assert.Equal(ClaimResult.TakenOver, owners.TryClaim("freezer-1", Freezer, out var again));
        Assert.NotSame(real, again);
        Assert.NotNull(squat);
    }

    [Fact]
    public void A_late_disconnect_of_an_old_connection_does_not_remove_the_new_owner()
    {
        var owners = new ClientIdOwners();
        owners.TryClaim("freezer-1", Intruder, out var old);
        owners.TryClaim("freezer-1", Freezer, out var current);
        Assert.False(owners.Disconnected("freezer-1", old));
        Assert.Same(Freezer, owners.OwnerOf("freezer-1"));
        Assert.True(owners.Disconnected("freezer-1", current));
        Assert.Null(owners.OwnerOf("freezer-1"));
        Assert.False(owners.Disconnected("freezer-1", null));
    }

    [Fact]
    public async Task Identities_racing_for_one_free_id_cannot_both_claim_it()
    {
        for (var round = 0; round < 200; round++)
        {
            var owners = new ClientIdOwners();
            using var start = new ManualResetEventSlim();
            var racers = Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            {
                start.Wait(TestContext.Current.CancellationToken);
                return owners.TryClaim("shared", new ConnectionIdentity($"device-{i}", IdentitySource.Password, "h"), out _);
            }, TestContext.Current.CancellationToken)).ToArray();
            start.Set();
            var results = await Task.WhenAll(racers);
            Assert.Equal(1, results.Count(r => r == ClaimResult.Claimed));
            Assert.Equal(7, results.Count(r => r == ClaimResult.InUse));
        }
    }
}
