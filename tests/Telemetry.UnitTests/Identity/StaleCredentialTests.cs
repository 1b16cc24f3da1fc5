using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Broker;
using Telemetry.Broker.Identity;
using Telemetry.Domain.Identity;
using Telemetry.Domain.Observability;

namespace Telemetry.UnitTests.Identity;

/// <summary>
/// A password identity that logged in with a hash the store no longer holds (rotated while its CONNECT was checked)
/// may publish nothing and read no alerts.
/// </summary>
public sealed class StaleCredentialTests
{
    sealed class Meters : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }

    [Fact]
    public void After_a_rotation_the_old_credential_is_refused_and_the_new_one_allowed()
    {
        var oldHash = PasswordHash.Create("old", PasswordHash.MinimumIterations);
        var newHash = PasswordHash.Create("new", PasswordHash.MinimumIterations);
        var path = Path.Combine(Directory.CreateTempSubdirectory("telemetry-ut-stale-").FullName, "devices.passwd");
        File.WriteAllText(path, CredentialFile.FormatLine(new CredentialEntry("dash", newHash, ["dash"], [CredentialEntry.AlertsRole])) + "\n");
        var options = Options.Create(new BrokerOptions { CredentialsFile = path });
        using var meters = new Meters();
        var metrics = new TelemetryMetrics(meters);
        using var store = new CredentialStore(options, metrics, NullLogger<CredentialStore>.Instance);
        var topics = new ProtectedTopics(ProtectedTopics.DefaultAlertTopicRoot);
        var publish = new PublishAuthorizer(options, store, topics);
        var subscribe = new SubscriptionAuthorizer(options, store, publish, topics, metrics, NullLogger<SubscriptionAuthorizer>.Instance);

        var stale = new ConnectionIdentity("dash", IdentitySource.Password, oldHash.Text);
        var fresh = new ConnectionIdentity("dash", IdentitySource.Password, newHash.Text);

        Assert.False(publish.MayPublish(stale, "dash", "dash", out var refusal));
        Assert.Contains("password it logged in with", refusal.Detail, StringComparison.Ordinal);
        Assert.True(publish.MayPublish(fresh, "dash", "dash", out _));
        Assert.Equal("alerts_role_required", subscribe.Decide(stale, "dash", "campus/alerts/#")?.Reason);
        Assert.Null(subscribe.Decide(fresh, "dash", "campus/alerts/#"));
    }
}
