using System.Globalization;
using System.Net;
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
public sealed class InfluxDbServer : HttpTestServer
{
    public const string ExecutablePath = "/usr/bin/influxd";
    public const string AptPackage = "influxdb";

    static readonly TestServerKind Kind = new("influxd", ExecutablePath, AptPackage, PortCount: 2);

    InfluxDbServer(TestServerSite site)
        : base(Kind, site)
    {
    }

    /// <summary>RPC (backup/restore) port from the top-level bind-address.</summary>
    public int RpcPort => Ports[1];

    /// <summary>Starts influxd in a fresh temp folder and waits until GET /ping answers 204.</summary>
    public static Task<InfluxDbServer> StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(Kind, site => new InfluxDbServer(site), cancellationToken);

    /// <summary>CREATE DATABASE (idempotent in InfluxDB 1.x).</summary>
    public async Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        await QueryAsync(null, $"CREATE DATABASE {QuoteIdentifier(name)}", cancellationToken);
    }

    /// <summary>POST /write?db=..&amp;precision=..[&amp;rp=..] with line protocol; throws unless 204.</summary>
    public async Task WriteAsync(string database, string lineProtocol, string precision = "ms", CancellationToken cancellationToken = default)
    {
        await PostLinesAsync($"write?db={Uri.EscapeDataString(database)}&precision={Uri.EscapeDataString(precision)}", lineProtocol, cancellationToken);
    }

    /// <summary>POST /write?db=..&amp;rp=..&amp;precision=ms with line protocol: into a retention policy other than the default.</summary>
    public async Task WriteToPolicyAsync(string database, string retentionPolicy, string lineProtocol, CancellationToken cancellationToken = default)
    {
        await PostLinesAsync($"write?db={Uri.EscapeDataString(database)}&rp={Uri.EscapeDataString(retentionPolicy)}&precision=ms", lineProtocol, cancellationToken);
    }

    /// <summary>CREATE RETENTION POLICY … DURATION 0s (kept forever), not the database's default.</summary>
    public async Task CreateRetentionPolicyAsync(string database, string policy, CancellationToken cancellationToken = default)
    {
        await QueryAsync(null, $"CREATE RETENTION POLICY {QuoteIdentifier(policy)} ON {QuoteIdentifier(database)} DURATION 0s REPLICATION 1", cancellationToken);
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

    protected override IEnumerable<string> CommandLine() => ["-config", ConfigPath];

    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        AnswersAsync("ping", HttpStatusCode.NoContent, cancellationToken);

    protected override string ConfigFile()
    {
        static string Toml(string value)
            => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

        var meta = Toml(Path.Combine(Directory, "meta"));
        var data = Toml(Path.Combine(Directory, "data"));
        var wal = Toml(Path.Combine(Directory, "wal"));
        var http = Toml($"127.0.0.1:{Port}");
        var rpc = Toml($"127.0.0.1:{RpcPort}");
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
