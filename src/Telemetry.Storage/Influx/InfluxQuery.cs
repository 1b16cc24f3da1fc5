using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Telemetry.Storage.Influx;

/// <summary>Reads InfluxDB with InfluxQL (reports and the report API read their series back this way).</summary>
public interface IInfluxQuery
{
    /// <summary>
    /// Runs one InfluxQL statement and returns its series (times as Unix milliseconds). Throws
    /// <see cref="InfluxQueryException"/> when InfluxDB is unreachable or answers with an error.
    /// </summary>
    Task<IReadOnlyList<QuerySeries>> QueryAsync(string influxQl, CancellationToken cancellationToken);

    /// <summary>
    /// The measurement as InfluxQL names it in the long-retention destination: <c>"long"."room_1d"</c> when
    /// <c>Influx:LongRetentionPolicy</c> is set, else <c>"room_1d"</c> (the database's default policy).
    /// </summary>
    string LongTerm(string measurement);
}

/// <summary>One series of an InfluxQL answer. <see cref="Rows"/> hold the values in <see cref="Columns"/> order.</summary>
public sealed record QuerySeries(
    string Name,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<string> Columns,
    IReadOnlyList<IReadOnlyList<JsonElement>> Rows)
{
    public int Column(string name)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (string.Equals(Columns[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    public string Tag(string key) => Tags.GetValueOrDefault(key) ?? "";

    /// <summary>The number in <paramref name="column"/> of row <paramref name="row"/>; null when absent or not a number.</summary>
    public double? Number(int row, string column)
    {
        var i = Column(column);
        if (i < 0 || i >= Rows[row].Count)
        {
            return null;
        }

        var value = Rows[row][i];
        return value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
    }

    /// <summary>The string in <paramref name="column"/> of row <paramref name="row"/>; null when absent or not a string.</summary>
    public string? Text(int row, string column)
    {
        var i = Column(column);
        return i < 0 || i >= Rows[row].Count || Rows[row][i].ValueKind != JsonValueKind.String ? null : Rows[row][i].GetString();
    }

    /// <summary>The row's time (Unix milliseconds; queries ask for <c>epoch=ms</c>).</summary>
    public long Time(int row) => Rows[row][Column("time")].GetInt64();
}

public sealed class InfluxQueryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// InfluxQL over HTTP <c>GET /query</c>: InfluxDB 1.x natively, 2.x through its 1.x compatibility API (the database and
/// retention policy names are resolved by DBRP mappings; authenticated with the token). InfluxDB.Client speaks only
/// Flux for queries, which 1.x lacks and which would not share its text with the dashboards' InfluxQL, so this is a
/// small HTTP call rather than a client library.
/// </summary>
public sealed class InfluxQuery : IInfluxQuery
{
    readonly HttpClient http;
    readonly InfluxOptions options;

    public InfluxQuery(IHttpClientFactory httpClientFactory, IOptions<InfluxOptions> options)
    {
        ArgumentNullException.ThrowIfNull(httpClientFactory);
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        http = httpClientFactory.CreateClient(InfluxV1Target.HttpClientName + "-query");
        http.BaseAddress = this.options.Url;
        http.Timeout = this.options.Timeout;
        if (this.options.Api == InfluxApi.V2 && !string.IsNullOrEmpty(this.options.Token))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", this.options.Token);
        }
        else if (!string.IsNullOrEmpty(this.options.Username))
        {
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{this.options.Username}:{this.options.Password}"));
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", basic);
        }
    }

    public string LongTerm(string measurement) => string.IsNullOrEmpty(options.LongRetentionPolicy)
        ? Quote(measurement)
        : $"{Quote(options.LongRetentionPolicy)}.{Quote(measurement)}";

    /// <summary>An InfluxQL identifier in double quotes.</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>An InfluxQL string literal in single quotes.</summary>
    public static string Literal(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    public async Task<IReadOnlyList<QuerySeries>> QueryAsync(string influxQl, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(influxQl);
        var path = $"query?db={Uri.EscapeDataString(options.Database)}&epoch=ms&q={Uri.EscapeDataString(influxQl)}";
        string body;
        int status;
        try
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
            status = (int)response.StatusCode;
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new InfluxQueryException($"InfluxDB at {options.Url} is unreachable: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InfluxQueryException($"InfluxDB at {options.Url} did not answer within {options.Timeout}", ex);
        }

        if (status is < 200 or > 299)
        {
            throw new InfluxQueryException($"InfluxDB answered {status} to a query: {Truncate(body)}");
        }

        try
        {
            return Parse(body);
        }
        catch (JsonException ex)
        {
            throw new InfluxQueryException($"InfluxDB at {options.Url} answered {status} with a body that is not a query result: {Truncate(body)}", ex);
        }
    }

    /// <summary>Parses a <c>/query</c> answer of one statement; an <c>error</c> in it throws.</summary>
    public static IReadOnlyList<QuerySeries> Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.TryGetProperty("error", out var topError))
        {
            throw new InfluxQueryException($"InfluxDB refused the query: {topError.GetString()}");
        }

        var series = new List<QuerySeries>();
        foreach (var result in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (result.TryGetProperty("error", out var error))
            {
                throw new InfluxQueryException($"InfluxDB refused the query: {error.GetString()}");
            }

            // max-row-limit (1.x) cuts an answer short and says so: figures computed from part of the rows would be wrong.
            if (result.TryGetProperty("partial", out var partial) && partial.ValueKind == JsonValueKind.True)
            {
                throw new InfluxQueryException("InfluxDB answered only part of the rows (partial: its max-row-limit); set max-row-limit = 0");
            }

            if (!result.TryGetProperty("series", out var list))
            {
                continue;
            }

            foreach (var s in list.EnumerateArray())
            {
                var tags = new Dictionary<string, string>(StringComparer.Ordinal);
                if (s.TryGetProperty("tags", out var t))
                {
                    foreach (var p in t.EnumerateObject())
                    {
                        tags[p.Name] = p.Value.GetString() ?? "";
                    }
                }

                var columns = s.GetProperty("columns").EnumerateArray().Select(c => c.GetString() ?? "").ToList();
                var rows = s.TryGetProperty("values", out var values)
                    ? values.EnumerateArray().Select(r => (IReadOnlyList<JsonElement>)[.. r.EnumerateArray().Select(v => v.Clone())]).ToList()
                    : [];
                series.Add(new QuerySeries(s.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "", tags, columns, rows));
            }
        }

        return series;
    }

    static string Truncate(string text) => text.Length > 500 ? text[..500] + "…" : text.Trim();
}
