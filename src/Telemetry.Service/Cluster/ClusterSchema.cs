using System.CommandLine;
using Npgsql;

namespace Telemetry.Service.Cluster;

/// <summary>
/// <c>Telemetry.Service cluster-schema apply [--connection-string …]</c>: creates Orleans' tables in the cluster's
/// PostgreSQL database (membership, grain state, reminders; the scripts in <c>deploy/postgres/orleans/</c>, embedded).
/// Repeatable: a script whose table exists is skipped, and each script runs in one transaction (PostgreSQL's DDL is
/// transactional), so a failure leaves it wholly unapplied and the next run applies it. The connection string defaults
/// to <c>Orleans__ConnectionString</c> from the environment, as the service reads it.
/// </summary>
public static class ClusterSchema
{
    public const string Verb = "cluster-schema";

    /// <summary>The scripts in the order they must run, each with the table whose presence means it was applied.</summary>
    public static IReadOnlyList<(string Script, string Table)> Scripts { get; } =
    [
        ("PostgreSQL-Main.sql", "orleansquery"),
        ("PostgreSQL-Clustering.sql", "orleansmembershiptable"),
        ("PostgreSQL-Persistence.sql", "orleansstorage"),
        ("PostgreSQL-Reminders.sql", "orleansreminderstable"),
    ];

    public static bool Handles(string[] args) => args is [Verb, ..];

    public static Task<int> RunAsync(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        var connection = new Option<string>("--connection-string")
        {
            Description = "Npgsql connection string of the cluster's database (default: the environment's Orleans__ConnectionString).",
        };
        var apply = new Command("apply", "Create Orleans' tables in PostgreSQL where they are missing (safe to run again).") { connection };
        apply.SetAction(async (parse, cancellationToken) =>
        {
            var connectionString = parse.GetValue(connection) ?? Environment.GetEnvironmentVariable("Orleans__ConnectionString");
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                parse.InvocationConfiguration.Error.WriteLine("No connection string: pass --connection-string or set Orleans__ConnectionString.");
                return 2;
            }

            try
            {
                await ApplyAsync(connectionString, output, cancellationToken);
                return 0;
            }
            catch (Exception ex) when (ex is NpgsqlException or ArgumentException or InvalidOperationException)
            {
                parse.InvocationConfiguration.Error.WriteLine($"The schema was not applied: {ex.Message}");
                return 1;
            }
        });
        var root = new RootCommand("Campus Telemetry; without a command it runs the service.")
        {
            new Command(Verb, "Orleans' schema in the cluster's PostgreSQL database.") { apply },
        };
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output });
    }

    /// <summary>Applies every script whose table is missing; writes one line per script saying what it did.</summary>
    public static async Task ApplyAsync(string connectionString, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        foreach (var (script, table) in Scripts)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // Serialises concurrent runs (several nodes' init containers): the second waits, then finds the table.
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(7340327)", connection, transaction))
            {
                await lockCommand.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var exists = new NpgsqlCommand("SELECT to_regclass(@table) IS NOT NULL", connection, transaction))
            {
                exists.Parameters.AddWithValue("table", table);
                if ((bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
                {
                    await transaction.RollbackAsync(cancellationToken);
                    await output.WriteLineAsync($"{script}: already applied ({table} exists)");
                    continue;
                }
            }

            await using (var apply = new NpgsqlCommand(Read(script), connection, transaction))
            {
                await apply.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            await output.WriteLineAsync($"{script}: applied");
        }
    }

    static string Read(string script)
    {
        using var stream = typeof(ClusterSchema).Assembly.GetManifestResourceStream("orleans-schema/" + script)
            ?? throw new InvalidOperationException($"{script} is not embedded in the service");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
