using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.EndToEnd;

/// <summary>A real InfluxDB-speaking server and the service writing to it, started once per test collection.</summary>
public abstract class ServiceFixture<TServer> : IAsyncLifetime
    where TServer : class, IAsyncDisposable
{
    TServer? server;
    TelemetryServiceHost? service;

    protected TServer Server => server ?? throw new InvalidOperationException("not started");

    public TelemetryServiceHost Service => service ?? throw new InvalidOperationException("not started");

    protected abstract Task<TServer> StartServerAsync(CancellationToken ct);

    /// <summary>The service's settings that point it at the server.</summary>
    protected abstract IEnumerable<string> Settings(TServer started);

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        server = await StartServerAsync(ct);
        try
        {
            service = await TelemetryServiceHost.StartAsync(Settings(server), ct);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (service is not null)
        {
            await service.DisposeAsync();
            service = null;
        }

        if (server is not null)
        {
            await server.DisposeAsync();
            server = null;
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>InfluxDB 1.6 and the service writing to it through the v1 <c>/write</c> API.</summary>
public sealed class ServiceOnInfluxV1Fixture : ServiceFixture<InfluxDbServer>
{
    public const string CollectionName = "service-influx-v1";
    public const string Database = "campus";

    public InfluxDbServer Influx => Server;

    protected override async Task<InfluxDbServer> StartServerAsync(CancellationToken ct)
    {
        var influx = await InfluxDbServer.StartAsync(ct);
        await influx.CreateDatabaseAsync(Database, ct);
        return influx;
    }

    protected override IEnumerable<string> Settings(InfluxDbServer started) =>
        ["--Influx:Api=V1", $"--Influx:Url={started.Url}", $"--Influx:Database={Database}"];
}

[CollectionDefinition(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class ServiceOnInfluxV1Collection : ICollectionFixture<ServiceOnInfluxV1Fixture>;

/// <summary>VictoriaMetrics (without deduplication, so a double write would show) and the service writing through InfluxDB.Client and the v2 API.</summary>
public sealed class ServiceOnV2ApiFixture : ServiceFixture<VictoriaMetricsServer>
{
    public const string CollectionName = "service-v2-api";

    public VictoriaMetricsServer Victoria => Server;

    protected override Task<VictoriaMetricsServer> StartServerAsync(CancellationToken ct) =>
        VictoriaMetricsServer.StartAsync(deduplicate: false, cancellationToken: ct);

    protected override IEnumerable<string> Settings(VictoriaMetricsServer started) =>
        ["--Influx:Api=V2", $"--Influx:Url={started.Url}", "--Influx:Org=campus", "--Influx:Bucket=campus", "--Influx:Token=test-token"];
}

[CollectionDefinition(ServiceOnV2ApiFixture.CollectionName)]
public sealed class ServiceOnV2ApiCollection : ICollectionFixture<ServiceOnV2ApiFixture>;
