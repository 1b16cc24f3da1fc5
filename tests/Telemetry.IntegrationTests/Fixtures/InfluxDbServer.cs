using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// A real InfluxDB 1.x (<c>/usr/bin/influxd</c>, Debian package <c>influxdb</c>, 1.6.7 here) on
/// free loopback ports, with its meta, data and WAL in a fresh temp folder that is deleted on dispose.
/// </summary>
/// <remarks>
/// Config keys were checked against <c>influxd config</c> of 1.6.7. Quirks of that build:
/// Debian's binary names the phone-home switch <c>reporting-enabled</c> (default false) instead of
/// upstream's <c>reporting-disabled</c>; unknown keys are silently ignored, so both are written.
/// The top-level <c>bind-address</c> (RPC for backup/restore) is bound as well, so it gets its own
/// free port. Start-up to a 204 on /ping takes well under a second.
/// </remarks>
public sealed class InfluxDbServer : IAsyncDisposable, IDisposable
{
    public const string ExecutablePath = "/usr/bin/influxd";
    public const string AptPackage = "influxdb";

    private const int MaxStartAttempts = 3;

    private InfluxDbServer(string directory, int port, int rpcPort)
    {
        Directory = directory;
        Port = port;
        RpcPort = rpcPort;
        Url = new Uri($"http://127.0.0.1:{port}");
        Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
        ConfigPath = Path.Combine(directory, "influxd.conf");
        LogPath = Path.Combine(directory, "influxd.log");
        System.IO.File.WriteAllText(ConfigPath, BuildConfig(directory, port, rpcPort));
        Process = new ServerProcess(
            "influxd",
            ExecutablePath,
            AptPackage,
            ["-config", ConfigPath],
            directory,
            LogPath,
            async ct => await PingStatusAsync(ct) == HttpStatusCode.NoContent);
    }

    /// <summary>HTTP API base address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Url { get; }

    /// <summary>HTTP API port.</summary>
    public int Port { get; }

    /// <summary>RPC (backup/restore) port from the top-level bind-address.</summary>
    public int RpcPort { get; }

    /// <summary>The temp folder holding config, log, meta, data and wal.</summary>
    public string Directory { get; }

    public string ConfigPath { get; }

    public string LogPath { get; }

    /// <summary>The influxd process: Stop/Kill/StartAsync (same data, same ports), Freeze/Thaw, Pid.</summary>
    public ServerProcess Process { get; }

    public int Pid => Process.Pid;

    /// <summary>Client with <see cref="Url"/> as base address and a 30 s timeout.</summary>
    public HttpClient Http { get; }

    /// <summary>Starts influxd in a fresh temp folder and waits until GET /ping answers 204.</summary>
    public static async Task<InfluxDbServer> StartAsync(CancellationToken cancellationToken = default)
    {
        ServerProcess.RequireExecutable(ExecutablePath, AptPackage);
        for (var attempt = 1; ; attempt++)
        {
            var ports = FreePort.GetMany(2);
            var directory = System.IO.Directory.CreateTempSubdirectory("telemetry-it-influxdb-").FullName;
            var server = new InfluxDbServer(directory, ports[0], ports[1]);
            try
            {
                await server.Process.StartAsync(cancellationToken);
                return server;
            }
            catch (ServerStartException ex) when (ex.AddressInUse && attempt < MaxStartAttempts)
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// True when GET /ping answers 204 within <paramref name="timeout"/>; false on timeout,
    /// refused connection or any other status (e.g. while stopped or frozen).
    /// </summary>
    public async Task<bool> PingAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            return await PingStatusAsync(cts.Token) == HttpStatusCode.NoContent;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>CREATE DATABASE (idempotent in InfluxDB 1.x).</summary>
    public async Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        await QueryAsync(null, $"CREATE DATABASE {QuoteIdentifier(name)}", cancellationToken);
    }

    /// <summary>POST /write?db=..&amp;precision=.. with line protocol; throws unless 204.</summary>
    public async Task WriteAsync(string database, string lineProtocol, string precision = "ms", CancellationToken cancellationToken = default)
    {
        var uri = new Uri(
            $"write?db={Uri.EscapeDataString(database)}&precision={Uri.EscapeDataString(precision)}",
            UriKind.Relative);
        using var content = new StringContent(lineProtocol, Encoding.UTF8, "text/plain");
        using var response = await Http.PostAsync(uri, content, cancellationToken);
        if (response.StatusCode != HttpStatusCode.NoContent)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"InfluxDB write failed with {(int)response.StatusCode}: {body}");
        }
    }

    /// <summary>
    /// Runs InfluxQL via POST /query (epoch=ms, so "time" is Unix milliseconds) and returns the series
    /// of all statements. Throws when the request or any statement reports an error.
    /// </summary>
    /// <param name="database">The db parameter; null for statements that need none.</param>
    public async Task<IReadOnlyList<InfluxSeries>> QueryAsync(string? database, string influxQl, CancellationToken cancellationToken = default)
    {
        var form = new Dictionary<string, string> { ["q"] = influxQl, ["epoch"] = "ms" };
        if (database is not null)
        {
            form["db"] = database;
        }

        using var content = new FormUrlEncodedContent(form);
        using var response = await Http.PostAsync(new Uri("query", UriKind.Relative), content, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"InfluxDB query failed with {(int)response.StatusCode}: {body} (query: {influxQl})");
        }

        return InfluxSeries.ParseQueryResponse(body, influxQl);
    }

    /// <summary>
    /// SELECT COUNT("field") FROM "measurement" [WHERE ...]: the number of stored values of that field,
    /// 0 when the measurement does not exist.
    /// </summary>
    public async Task<long> CountAsync(string database, string measurement, string field, string? where = null, CancellationToken cancellationToken = default)
    {
        var query = $"SELECT COUNT({QuoteIdentifier(field)}) FROM {QuoteIdentifier(measurement)}";
        if (!string.IsNullOrWhiteSpace(where))
        {
            query += $" WHERE {where}";
        }

        var series = await QueryAsync(database, query, cancellationToken);
        return series.Count == 0 || series[0].Values.Count == 0
            ? 0
            : series[0].Get(0, "count").GetInt64();
    }

    /// <summary>Double-quotes an InfluxQL identifier.</summary>
    public static string QuoteIdentifier(string identifier)
        => "\"" + identifier.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    public void Dispose()
    {
        Process.Dispose();
        Http.Dispose();
        DeleteDirectory(Directory);
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    internal static void DeleteDirectory(string directory)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (System.IO.Directory.Exists(directory))
                {
                    System.IO.Directory.Delete(directory, recursive: true);
                }

                return;
            }
            catch (Exception ex) when ((ex is IOException or UnauthorizedAccessException) && attempt < 5)
            {
                Thread.Sleep(100);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Leaving a temp folder behind must not fail a test run.
                return;
            }
        }
    }

    private async Task<HttpStatusCode> PingStatusAsync(CancellationToken cancellationToken)
    {
        using var response = await Http.GetAsync(new Uri("ping", UriKind.Relative), cancellationToken);
        return response.StatusCode;
    }

    private static string BuildConfig(string directory, int port, int rpcPort)
    {
        static string Toml(string value)
            => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

        var meta = Toml(Path.Combine(directory, "meta"));
        var data = Toml(Path.Combine(directory, "data"));
        var wal = Toml(Path.Combine(directory, "wal"));
        var http = Toml($"127.0.0.1:{port}");
        var rpc = Toml($"127.0.0.1:{rpcPort}");
        return $$"""
            # Written by Telemetry.IntegrationTests.Fixtures.InfluxDbServer for influxd 1.6.x.
            # Debian's 1.6.7 calls the usage-reporting switch "reporting-enabled"; upstream calls it
            # "reporting-disabled". Unknown keys are ignored, so both are set.
            reporting-enabled = false
            reporting-disabled = true
            bind-address = {{rpc}}

            [meta]
              dir = {{meta}}
              retention-autocreate = true
              logging-enabled = false

            [data]
              dir = {{data}}
              wal-dir = {{wal}}
              wal-fsync-delay = "0s"
              index-version = "inmem"
              query-log-enabled = false
              trace-logging-enabled = false

            [coordinator]
              write-timeout = "10s"
              log-queries-after = "0s"

            [retention]
              enabled = false

            [shard-precreation]
              enabled = false

            [monitor]
              store-enabled = false

            [subscriber]
              enabled = false

            [http]
              enabled = true
              bind-address = {{http}}
              auth-enabled = false
              log-enabled = false
              suppress-write-log = true
              write-tracing = false
              pprof-enabled = false
              https-enabled = false
              unix-socket-enabled = false

            [ifql]
              enabled = false

            [logging]
              format = "logfmt"
              level = "info"
              suppress-logo = true

            [continuous_queries]
              enabled = false
              log-enabled = false

            """;
    }
}

/// <summary>One series of an InfluxQL result.</summary>
/// <param name="StatementId">Index of the statement (for queries with several statements separated by ';').</param>
/// <param name="Name">Measurement name.</param>
/// <param name="Tags">Tags of the group when the query has GROUP BY; empty otherwise.</param>
/// <param name="Columns">Column names; the first is "time" for SELECTs.</param>
/// <param name="Values">Rows, each with one value per column (detached JsonElements).</param>
public sealed record InfluxSeries(
    int StatementId,
    string Name,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<string> Columns,
    IReadOnlyList<IReadOnlyList<JsonElement>> Values)
{
    /// <summary>Index of <paramref name="column"/>; throws when absent.</summary>
    public int ColumnIndex(string column)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (Columns[i] == column)
            {
                return i;
            }
        }

        throw new KeyNotFoundException($"Column '{column}' not in [{string.Join(", ", Columns)}] of series '{Name}'.");
    }

    /// <summary>Value of <paramref name="column"/> in row <paramref name="row"/>.</summary>
    public JsonElement Get(int row, string column) => Values[row][ColumnIndex(column)];

    /// <summary>Parses the JSON of GET/POST /query; throws when it reports an error.</summary>
    public static IReadOnlyList<InfluxSeries> ParseQueryResponse(string json, string query = "")
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.TryGetProperty("error", out var topError))
        {
            throw new InvalidOperationException($"InfluxDB query error: {topError.GetString()} (query: {query})");
        }

        var series = new List<InfluxSeries>();
        if (!root.TryGetProperty("results", out var results))
        {
            return series;
        }

        foreach (var result in results.EnumerateArray())
        {
            var statementId = result.TryGetProperty("statement_id", out var id) ? id.GetInt32() : 0;
            if (result.TryGetProperty("error", out var error))
            {
                throw new InvalidOperationException(
                    $"InfluxDB statement {statementId} error: {error.GetString()} (query: {query})");
            }

            if (!result.TryGetProperty("series", out var seriesArray))
            {
                continue;
            }

            foreach (var item in seriesArray.EnumerateArray())
            {
                var name = item.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
                var tags = new Dictionary<string, string>();
                if (item.TryGetProperty("tags", out var tagObject))
                {
                    foreach (var tag in tagObject.EnumerateObject())
                    {
                        tags[tag.Name] = tag.Value.ValueKind == JsonValueKind.String
                            ? tag.Value.GetString() ?? ""
                            : tag.Value.GetRawText();
                    }
                }

                var columns = item.TryGetProperty("columns", out var c)
                    ? c.EnumerateArray().Select(e => e.GetString() ?? "").ToList()
                    : [];
                var rows = new List<IReadOnlyList<JsonElement>>();
                if (item.TryGetProperty("values", out var values))
                {
                    foreach (var row in values.EnumerateArray())
                    {
                        rows.Add(row.EnumerateArray().Select(v => v.Clone()).ToList());
                    }
                }

                series.Add(new InfluxSeries(statementId, name, tags, columns, rows));
            }
        }

        return series;
    }

    public override string ToString()
        => string.Create(
            CultureInfo.InvariantCulture,
            $"{Name}{(Tags.Count == 0 ? "" : "{" + string.Join(",", Tags.Select(t => $"{t.Key}={t.Value}")) + "}")} [{string.Join(",", Columns)}] x{Values.Count}");
}
