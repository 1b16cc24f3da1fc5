using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// A real single-node VictoriaMetrics (<c>/usr/bin/victoria-metrics</c>, Debian package
/// <c>victoria-metrics</c>, 1.79.5 here) on a free loopback port, storing in a fresh temp folder
/// that is deleted on dispose.
/// </summary>
/// <remarks>
/// Verified with curl against 1.79.5:
/// <list type="bullet">
/// <item>InfluxDB clients: GET /ping answers 204 (as InfluxDB does); GET /health answers 200 "OK";
/// /api/v2/ping is NOT served (400 "unsupported path"), so a client must ping /ping.</item>
/// <item>POST /api/v2/write?bucket=..&amp;org=..&amp;precision=ms with line protocol answers 204; an
/// Authorization: Token header is accepted and ignored. bucket and org are ignored too: no label is
/// added. (POST /write?db=campus, the v1 endpoint, adds the label db="campus".)</item>
/// <item><c>telemetry,building=b,room=r,sensor=s temperature=21.5,humidity=40 ts</c> is stored as the
/// series telemetry_temperature and telemetry_humidity, each with labels building, room, sensor.</item>
/// <item>Freshly written samples become visible to /api/v1/export only after up to ~1 s (the
/// ingestion buffers are flushed once a second); /internal/force_flush does not shorten that
/// noticeably, so read with <see cref="WaitForExportAsync"/>, which polls.</item>
/// </list>
/// Flags: -search.latencyOffset=0s and -search.disableCache so fresh data is never hidden by the
/// query side; -dedup.minScrapeInterval=1ms (unless disabled) so a sample written twice with the same
/// timestamp is stored once, like InfluxDB overwriting a point (without it, export returns both);
/// self-scraping is off (-selfScrapeInterval=0), no TCP/UDP listeners besides HTTP, and this version
/// has no phone-home.
/// </remarks>
public sealed class VictoriaMetricsServer : HttpTestServer
{
    static readonly TestServerKind Kind = new("victoria-metrics", "/usr/bin/victoria-metrics", AptPackage: "victoria-metrics");

    readonly bool deduplicate;

    VictoriaMetricsServer(TestServerSite site, bool deduplicate)
        : base(Kind, site)
    {
        this.deduplicate = deduplicate;
        DataPath = Path.Combine(Directory, "data");
    }

    public string DataPath { get; }

    /// <summary>Starts VictoriaMetrics in a fresh temp folder and waits until GET /health answers 200.</summary>
    /// <param name="deduplicate">
    /// True (default): -dedup.minScrapeInterval=1ms, identical timestamps of a series collapse into one
    /// sample. False: every written sample is kept, so duplicate writes are visible.
    /// </param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static Task<VictoriaMetricsServer> StartAsync(bool deduplicate = true, CancellationToken cancellationToken = default) =>
        StartAsync(Kind, site => new VictoriaMetricsServer(site, deduplicate), cancellationToken);

    /// <summary>POST /api/v2/write?bucket=..&amp;org=..&amp;precision=.. with line protocol; throws unless 204.</summary>
    public Task WriteAsync(string lineProtocol, string precision = "ms", string bucket = "campus", string org = "campus", CancellationToken cancellationToken = default) =>
        PostLinesAsync(
            $"api/v2/write?bucket={Uri.EscapeDataString(bucket)}&org={Uri.EscapeDataString(org)}&precision={Uri.EscapeDataString(precision)}",
            lineProtocol,
            cancellationToken);

    /// <summary>GET /internal/force_flush: flushes in-memory data to disk parts.</summary>
    public async Task ForceFlushAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync(new Uri("internal/force_flush", UriKind.Relative), cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// GET /api/v1/export?match[]=<paramref name="match"/> (e.g. <c>telemetry_temperature</c> or
    /// <c>{__name__=~"telemetry_.*",building="b"}</c>): every matching series with all its samples.
    /// Returns what is visible now; see <see cref="WaitForExportAsync"/> for freshly written data.
    /// </summary>
    public async Task<IReadOnlyList<VmSeries>> ExportAsync(string match, CancellationToken cancellationToken = default)
    {
        var uri = new Uri($"api/v1/export?match[]={Uri.EscapeDataString(match)}", UriKind.Relative);
        using var response = await Http.GetAsync(uri, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"VictoriaMetrics export failed with {(int)response.StatusCode}: {body} (match: {match})");
        }

        return VmSeries.ParseExport(body);
    }

    /// <summary>
    /// Force-flushes and exports repeatedly (<see cref="Poll"/>) until <paramref name="until"/> holds for the result (by
    /// default: at least one series), and returns that result; throws <see cref="TimeoutException"/> with the last
    /// result after <paramref name="timeout"/> (10 s when null).
    /// </summary>
    public Task<IReadOnlyList<VmSeries>> WaitForExportAsync(
        string match,
        Func<IReadOnlyList<VmSeries>, bool>? until = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default) =>
        Poll.UntilAsync(
            $"the VictoriaMetrics export of {match} to reach the expected state",
            async () =>
            {
                await ForceFlushAsync(cancellationToken);
                return await ExportAsync(match, cancellationToken);
            },
            until ?? (series => series.Count > 0),
            timeout ?? TimeSpan.FromSeconds(10),
            show: series => $"[{string.Join("; ", series)}]",
            every: TimeSpan.FromMilliseconds(50),
            cancellationToken: cancellationToken);

    protected override IEnumerable<string> CommandLine() =>
    [
        $"-httpListenAddr=127.0.0.1:{Port}",
        $"-storageDataPath={DataPath}",
        "-retentionPeriod=100y",
        "-search.latencyOffset=0s",
        "-search.disableCache",
        $"-dedup.minScrapeInterval={(deduplicate ? "1ms" : "0s")}",
        "-selfScrapeInterval=0s",
        "-memory.allowedBytes=256MiB",
        "-http.maxGracefulShutdownDuration=1s",
        "-loggerOutput=stderr",
    ];

    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        AnswersAsync("health", HttpStatusCode.OK, cancellationToken);
}

/// <summary>One series of /api/v1/export: its labels (with __name__) and its samples.</summary>
public sealed record VmSeries(
    IReadOnlyDictionary<string, string> Metric,
    IReadOnlyList<double> Values,
    IReadOnlyList<long> Timestamps)
{
    /// <summary>The metric name (label __name__), e.g. telemetry_temperature.</summary>
    public string Name => Metric.TryGetValue("__name__", out var name) ? name : "";

    /// <summary>A label value, or null.</summary>
    public string? Label(string name) => Metric.TryGetValue(name, out var value) ? value : null;

    /// <summary>Parses the JSON-lines body of /api/v1/export.</summary>
    public static IReadOnlyList<VmSeries> ParseExport(string body)
    {
        var result = new List<VmSeries>();
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var metric = new Dictionary<string, string>();
            foreach (var label in root.GetProperty("metric").EnumerateObject())
            {
                metric[label.Name] = label.Value.GetString() ?? "";
            }

            var values = root.GetProperty("values").EnumerateArray().Select(ParseValue).ToList();
            var timestamps = root.GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()).ToList();
            result.Add(new VmSeries(metric, values, timestamps));
        }

        return result;
    }

    public override string ToString()
        => string.Create(
            CultureInfo.InvariantCulture,
            $"{Name}{{{string.Join(",", Metric.Where(l => l.Key != "__name__").Select(l => $"{l.Key}=\"{l.Value}\""))}}} {string.Join(" ", Values.Zip(Timestamps, (v, t) => $"{v}@{t}"))}");

    private static double ParseValue(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.String => value.GetString() switch
        {
            "Inf" or "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            var text => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : double.NaN,
        },
        _ => double.NaN,
    };
}
