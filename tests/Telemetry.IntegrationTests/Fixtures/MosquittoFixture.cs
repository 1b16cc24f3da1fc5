namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>One real mosquitto broker per test collection "mosquitto".</summary>
public sealed class MosquittoFixture : ServerFixture<MosquittoServer>
{
    public const string CollectionName = "mosquitto";

    /// <summary>Always 127.0.0.1.</summary>
    public string Host => Server.Host;

    public int Port => Server.Port;

    protected override Task<MosquittoServer> StartServerAsync(CancellationToken cancellationToken) =>
        MosquittoServer.StartAsync(cancellationToken);
}

[CollectionDefinition(MosquittoFixture.CollectionName)]
public sealed class MosquittoCollection : ICollectionFixture<MosquittoFixture>;
