using Xunit;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// One real VictoriaMetrics per test collection "victoriametrics" (deduplication of identical
/// timestamps on). A test that stops or freezes the server must call <see cref="EnsureRunningAsync"/>
/// when done.
/// </summary>
public sealed class VictoriaMetricsFixture : IAsyncLifetime
{
    public const string CollectionName = "victoriametrics";

    private VictoriaMetricsServer? _server;

    public VictoriaMetricsServer Server => _server ?? throw new InvalidOperationException("VictoriaMetricsFixture is not initialized.");

    /// <summary>http://127.0.0.1:port/ — InfluxDB-compatible: /ping, /write, /api/v2/write.</summary>
    public Uri Url => Server.Url;

    public async ValueTask InitializeAsync()
        => _server = await VictoriaMetricsServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

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

[CollectionDefinition(VictoriaMetricsFixture.CollectionName)]
public sealed class VictoriaMetricsCollection : ICollectionFixture<VictoriaMetricsFixture>;
