using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.EndToEnd;

/// <summary>One InfluxDB 1.6 and one service writing to it through the v1 <c>/write</c> API, shared by a collection.</summary>
public sealed class ServiceOnInfluxV1Fixture : IAsyncLifetime
{
    public const string CollectionName = "service-influx-v1";
    public const string Database = "campus";

    InfluxDbServer? influx;
    TelemetryServiceHost? service;

    public InfluxDbServer Influx => influx ?? throw new InvalidOperationException("not started");

    public TelemetryServiceHost Service => service ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        influx = await InfluxDbServer.StartAsync(ct);
        try
        {
            await influx.CreateDatabaseAsync(Database, ct);
            service = await TelemetryServiceHost.StartAsync(
                ["--Influx:Api=V1", $"--Influx:Url={influx.Url}", $"--Influx:Database={Database}"], ct);
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

        if (influx is not null)
        {
            await influx.DisposeAsync();
            influx = null;
        }
    }
}

[CollectionDefinition(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class ServiceOnInfluxV1Collection : ICollectionFixture<ServiceOnInfluxV1Fixture>;

/// <summary>One VictoriaMetrics and one service writing to it through InfluxDB.Client and the v2 API.</summary>
public sealed class ServiceOnV2ApiFixture : IAsyncLifetime
{
    public const string CollectionName = "service-v2-api";

    VictoriaMetricsServer? victoria;
    TelemetryServiceHost? service;

    public VictoriaMetricsServer Victoria => victoria ?? throw new InvalidOperationException("not started");

    public TelemetryServiceHost Service => service ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        victoria = await VictoriaMetricsServer.StartAsync(deduplicate: false, cancellationToken: ct);
        try
        {
            service = await TelemetryServiceHost.StartAsync(
                ["--Influx:Api=V2", $"--Influx:Url={victoria.Url}", "--Influx:Org=campus", "--Influx:Bucket=campus", "--Influx:Token=test-token"], ct);
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

        if (victoria is not null)
        {
            await victoria.DisposeAsync();
            victoria = null;
        }
    }
}

[CollectionDefinition(ServiceOnV2ApiFixture.CollectionName)]
public sealed class ServiceOnV2ApiCollection : ICollectionFixture<ServiceOnV2ApiFixture>;
