using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Telemetry.Service.Security;

namespace Telemetry.UnitTests.Security;

/// <summary>Keys changed in the configuration while the service runs: a valid list replaces the keys in force, an invalid one is ignored.</summary>
public sealed class ApiKeyStoreTests
{
    [Fact]
    public void AValidChange_IsInForceAfterTheReload_AnInvalidOneLeavesTheKeysInForce()
    {
        var alice = ApiKeys.Create("alice", ApiRoles.Technician);
        var bob = ApiKeys.Create("bob", ApiRoles.Viewer);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Api:Keys:0:Name"] = alice.Name, ["Api:Keys:0:Role"] = alice.Role, ["Api:Keys:0:Hash"] = alice.Hash,
        }).Build();
        using var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<ApiKeyStore>()
            .AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName).Services
            .BuildServiceProvider();
        var store = services.GetRequiredService<ApiKeyStore>();
        Assert.Equal("alice", store.Current.Find(alice.Key)?.Name);
        Assert.Null(store.Current.Find(bob.Key));

        // Alice's key revoked, Bob's added (as an edit of appsettings.json would).
        configuration["Api:Keys:0:Name"] = bob.Name;
        configuration["Api:Keys:0:Role"] = bob.Role;
        configuration["Api:Keys:0:Hash"] = bob.Hash;
        configuration.Reload();

        Assert.Null(store.Current.Find(alice.Key));
        Assert.Equal("bob", store.Current.Find(bob.Key)?.Name);

        // A typo in the role: logged and ignored, Bob's key stays in force.
        configuration["Api:Keys:0:Role"] = "viewr";
        configuration.Reload();

        Assert.Equal("bob", store.Current.Find(bob.Key)?.Name);
    }
}
