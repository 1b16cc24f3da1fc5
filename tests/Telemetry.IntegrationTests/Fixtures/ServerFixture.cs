namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// One real <typeparamref name="TServer"/> shared by a test collection. Tests of the collection run one after another;
/// a test that stops or freezes the server must call <see cref="EnsureRunningAsync"/> when done (e.g. in a finally) so
/// the next test finds it up.
/// </summary>
public abstract class ServerFixture<TServer> : IAsyncLifetime
    where TServer : TestServer
{
    TServer? server;

    public TServer Server => server ?? throw new InvalidOperationException($"{GetType().Name} is not initialized.");

    public async ValueTask InitializeAsync() => server = await StartServerAsync(TestContext.Current.CancellationToken);

    /// <summary>Thaws or restarts the server (same data, same ports) after a fault test.</summary>
    public Task EnsureRunningAsync(CancellationToken cancellationToken = default)
        => Server.Process.EnsureRunningAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
            server = null;
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Starts the server and prepares it for the collection; disposes it when the preparation fails (xunit does not call DisposeAsync then).</summary>
    protected abstract Task<TServer> StartServerAsync(CancellationToken cancellationToken);
}
