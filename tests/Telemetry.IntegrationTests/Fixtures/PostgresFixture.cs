namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>One real PostgreSQL server per test collection "postgres"; each test (or cluster) makes its own database.</summary>
public sealed class PostgresFixture : ServerFixture<PostgresServer>
{
    public const string CollectionName = "postgres";

    protected override Task<PostgresServer> StartServerAsync(CancellationToken cancellationToken) => PostgresServer.StartAsync(cancellationToken);
}

[CollectionDefinition(PostgresFixture.CollectionName)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>;
