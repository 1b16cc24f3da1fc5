using System.Diagnostics;
using System.Security.Cryptography;
using Npgsql;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// A real PostgreSQL 15 server (Debian package <c>postgresql</c>, <c>/usr/lib/postgresql/15/bin</c>) on a free loopback
/// port, with its own data directory (a fresh <c>initdb</c> in the temp folder, deleted on dispose), password
/// authentication (scram-sha-256, a random password per instance) and no Unix socket.
/// </summary>
/// <remarks>
/// PostgreSQL refuses to run as root. Run as root (as in CI), <c>initdb</c> and <c>postgres</c> are started through
/// <c>setpriv</c> as the <c>postgres</c> user the Debian package creates (setpriv execs, so the process id is the
/// server's own and SIGKILL reaches it); the temp folder is handed to that user.
/// </remarks>
public sealed class PostgresServer : TestServer
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";
    public const string AptPackage = "postgresql";
    const string User = "postgres";

    static bool IsRoot => Environment.UserName == "root";

    static readonly TestServerKind Kind = new("postgres", IsRoot ? "/usr/bin/setpriv" : Path.Combine(BinDirectory, "postgres"), AptPackage);

    readonly string password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    PostgresServer(TestServerSite site)
        : base(Kind, site)
    {
    }

    string DataDirectory => Path.Combine(Directory, "data");

    /// <summary>Starts PostgreSQL in a fresh temp folder and waits until it answers a query.</summary>
    public static Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default)
    {
        ServerProcess.RequireExecutable(Path.Combine(BinDirectory, "postgres"), AptPackage);
        return StartAsync(Kind, site => new PostgresServer(site), cancellationToken);
    }

    /// <summary>An Npgsql connection string for <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = User,
        Password = password,
        Database = database,
        Pooling = false,
        Timeout = 5,
    }.ConnectionString;

    /// <summary>Creates an empty database (a cluster's own, so tests sharing this server do not see each other's).</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionString(name);
    }

    /// <summary>Runs one query and returns its first column's values as strings (null for SQL NULL).</summary>
    public async Task<IReadOnlyList<string?>> QueryAsync(string database, string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(database));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var values = new List<string?>();
        while (await reader.ReadAsync(cancellationToken))
        {
            values.Add(reader.IsDBNull(0) ? null : Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
        }

        return values;
    }

    protected override IEnumerable<string> CommandLine() =>
        [.. AsPostgres(Path.Combine(BinDirectory, "postgres")),
         "-D", DataDirectory,
         "-c", "listen_addresses=127.0.0.1",
         "-c", $"port={Port}",
         "-c", "unix_socket_directories=",
         "-c", "max_connections=300",
         "-c", "fsync=on"];

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        var passwordFile = Path.Combine(Directory, "pwfile");
        await File.WriteAllTextAsync(passwordFile, password + "\n", cancellationToken);
        if (IsRoot)
        {
            Chown(Directory);
            Chown(passwordFile);
        }

        var initdb = AsPostgres(Path.Combine(BinDirectory, "initdb"));
        await RunAsync(initdb[0], [.. initdb.Skip(1), "-D", DataDirectory, "-U", User, "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
            $"--pwfile={passwordFile}", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"], cancellationToken);
        File.Delete(passwordFile);
    }

    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        return await command.ExecuteScalarAsync(cancellationToken) is 1;
    }

    /// <summary>The command line that runs <paramref name="executable"/> as the postgres user (itself when not root).</summary>
    static string[] AsPostgres(string executable) => IsRoot
        ? ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", executable]
        : [executable];

    static void Chown(string path)
    {
        // setpriv keeps root's environment but not its rights: the folder must be the postgres user's own.
        var info = System.Diagnostics.Process.Start(new ProcessStartInfo("chown", ["-R", $"{User}:{User}", path]) { UseShellExecute = false })!;
        info.WaitForExit();
        if (info.ExitCode != 0)
        {
            throw new InvalidOperationException($"chown {path} failed with exit code {info.ExitCode}");
        }
    }

    static async Task RunAsync(string executable, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(executable, arguments) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = System.Diagnostics.Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(executable)} {string.Join(' ', arguments)} failed with exit code {process.ExitCode}: {await output}{await error}");
        }
    }
}
