namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>One real VictoriaMetrics per test collection "victoriametrics" (deduplication of identical timestamps on).</summary>
public sealed class VictoriaMetricsFixture : ServerFixture<VictoriaMetricsServer>
{
    public const string CollectionName = "victoriametrics";

    /// <summary>http://127.0.0.1:port/ — InfluxDB-compatible: /ping, /write, /api/v2/write.</summary>
    public Uri Url => Server.Url;

    protected override Task<VictoriaMetricsServer> StartServerAsync(CancellationToken cancellationToken) =>
        VictoriaMetricsServer.StartAsync(cancellationToken: cancellationToken);
}

[CollectionDefinition(VictoriaMetricsFixture.CollectionName)]
public sealed class VictoriaMetricsCollection : ICollectionFixture<VictoriaMetricsFixture>;
