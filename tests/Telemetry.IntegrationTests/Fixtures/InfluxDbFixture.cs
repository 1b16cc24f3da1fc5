using Xunit;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// One real InfluxDB per test collection "influxdb", with the database <see cref="Database"/> created.
/// Tests of the collection run one after another; a test that stops or freezes the server must
/// call <see cref="EnsureRunningAsync"/> when done (e.g. in a finally) so the next test finds it up.
/// </summary>
public sealed class InfluxDbFixture : IAsyncLifetime
{
    public const string CollectionName = "influxdb";
    public const string Database = "campus";

    private InfluxDbServer? _server;

    public InfluxDbServer Server => _server ?? throw new InvalidOperationException("InfluxDbFixture is not initialized.");

    /// <summary>http://127.0.0.1:port/</summary>
    public Uri Url => Server.Url;

    public async ValueTask InitializeAsync()
    {
        var server = await InfluxDbServer.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            await server.CreateDatabaseAsync(Database, TestContext.Current.CancellationToken);
        }
        catch
        {
            // xunit does not call DisposeAsync when InitializeAsync throws.
            await server.DisposeAsync();
            throw;
        }

        _server = server;
    }

    /// <summary>Thaws or restarts the server (same data, same port) after a fault test.</summary>
    public Task EnsureRunningAsync(CancellationToken cancellationToken = default)
        => Server.Process.EnsureRunningAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }
}

[CollectionDefinition(InfluxDbFixture.CollectionName)]
public sealed class InfluxDbCollection : ICollectionFixture<InfluxDbFixture>;
