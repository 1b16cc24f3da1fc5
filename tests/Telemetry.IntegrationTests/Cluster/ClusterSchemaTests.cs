using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Cluster;

/// <summary>
/// The documented schema step, <c>Telemetry.Service cluster-schema apply</c>, run as a process against a real
/// PostgreSQL: it creates Orleans' tables, and run again it changes nothing and succeeds.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class ClusterSchemaTests(PostgresFixture postgres)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Apply_creates_orleans_tables_and_is_repeatable()
    {
        var database = $"schema_{Guid.NewGuid():N}";
        var connectionString = await postgres.Server.CreateDatabaseAsync(database, Ct);

        var first = await ClusterProcesses.ApplySchemaAsync(connectionString, Ct);
        Assert.Equal(4, first.Split('\n').Count(l => l.EndsWith(": applied", StringComparison.Ordinal)));
        var tables = await postgres.Server.QueryAsync(database,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name", Ct);
        Assert.Equal(["orleansmembershiptable", "orleansmembershipversiontable", "orleansquery", "orleansreminderstable", "orleansstorage"], tables);
        var queries = await postgres.Server.QueryAsync(database, "SELECT count(*) FROM orleansquery", Ct);

        var second = await ClusterProcesses.ApplySchemaAsync(connectionString, Ct);
        Assert.Equal(4, second.Split('\n').Count(l => l.Contains(": already applied", StringComparison.Ordinal)));
        Assert.Equal(queries, await postgres.Server.QueryAsync(database, "SELECT count(*) FROM orleansquery", Ct));
    }

    [Fact]
    public async Task Apply_without_a_connection_string_fails_saying_what_is_missing()
    {
        var (exit, output) = await ClusterProcesses.RunServiceCommandAsync(["cluster-schema", "apply"], environment: new() { ["Orleans__ConnectionString"] = null }, Ct);
        Assert.Equal(2, exit);
        Assert.Contains("Orleans__ConnectionString", output, StringComparison.Ordinal);
    }
}
