namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>One real InfluxDB per test collection "influxdb", with the database <see cref="Database"/> created.</summary>
public sealed class InfluxDbFixture : ServerFixture<InfluxDbServer>
{
    public const string CollectionName = "influxdb";
    public const string Database = "campus";

    /// <summary>http://127.0.0.1:port/</summary>
    public Uri Url => Server.Url;

    protected override async Task<InfluxDbServer> StartServerAsync(CancellationToken cancellationToken)
    {
        var server = await InfluxDbServer.StartAsync(cancellationToken);
        try
        {
            await server.CreateDatabaseAsync(Database, cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }
}

[CollectionDefinition(InfluxDbFixture.CollectionName)]
public sealed class InfluxDbCollection : ICollectionFixture<InfluxDbFixture>;
