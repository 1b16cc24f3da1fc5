using Xunit;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// One real mosquitto broker per test collection "mosquitto". A test that stops or freezes the
/// broker must call <see cref="EnsureRunningAsync"/> when done.
/// </summary>
public sealed class MosquittoFixture : IAsyncLifetime
{
    public const string CollectionName = "mosquitto";

    private MosquittoServer? _server;

    public MosquittoServer Server => _server ?? throw new InvalidOperationException("MosquittoFixture is not initialized.");

    /// <summary>Always 127.0.0.1.</summary>
    public string Host => Server.Host;

    public int Port => Server.Port;

    public async ValueTask InitializeAsync()
        => _server = await MosquittoServer.StartAsync(TestContext.Current.CancellationToken);

    /// <summary>Thaws or restarts the broker (same port) after a fault test.</summary>
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

[CollectionDefinition(MosquittoFixture.CollectionName)]
public sealed class MosquittoCollection : ICollectionFixture<MosquittoFixture>;
