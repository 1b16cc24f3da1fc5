using System.Globalization;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>One node behind <see cref="HaproxyServer"/>: its MQTT port and its HTTP port (health check), on 127.0.0.1.</summary>
public sealed record HaproxyBackend(int MqttPort, int HttpPort);

/// <summary>
/// A real HAProxy 2.6 (<c>/usr/sbin/haproxy</c>, Debian package <c>haproxy</c>) in front of three nodes' MQTT ports,
/// running the repository's own <c>deploy/haproxy/haproxy.cfg</c> (copied into the test output) with its environment
/// variables pointing at loopback ports, in the foreground (<c>-db</c>), logging to its log file.
/// </summary>
/// <remarks>
/// <see cref="TestServer.Port"/> is where devices connect (<c>HAPROXY_MQTT_BIND</c>); <see cref="StatsPort"/> is the
/// stats page (<c>HAPROXY_STATS_BIND</c>), which the readiness probe and <see cref="ServerStatesAsync"/> read. The
/// variables are handed over by <c>/usr/bin/env</c>, which execs HAProxy, so the process id is HAProxy's own.
/// </remarks>
public sealed class HaproxyServer : TestServer
{
    public const string Executable = "/usr/sbin/haproxy";
    const string Package = "haproxy";

    static readonly TestServerKind Kind = new("haproxy", "/usr/bin/env", Package, PortCount: 2);

    readonly IReadOnlyList<HaproxyBackend> backends;
    readonly HttpClient stats;

    HaproxyServer(TestServerSite site, IReadOnlyList<HaproxyBackend> backends)
        : base(Kind, site)
    {
        this.backends = backends;
        stats = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{StatsPort}/"), Timeout = TimeSpan.FromSeconds(5) };
    }

    /// <summary>The repository's config, as copied into the test output.</summary>
    public static string ConfigFilePath => Path.Combine(AppContext.BaseDirectory, "haproxy", "haproxy.cfg");

    /// <summary>HAProxy's stats page (/stats, /stats;csv, /metrics, /health).</summary>
    public int StatsPort => Ports[1];

    /// <summary>Starts HAProxy in front of exactly three nodes and waits until its stats page answers.</summary>
    public static Task<HaproxyServer> StartAsync(IReadOnlyList<HaproxyBackend> backends, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backends);
        if (backends.Count != 3)
        {
            throw new ArgumentException($"deploy/haproxy/haproxy.cfg balances three nodes, not {backends.Count}", nameof(backends));
        }

        ServerProcess.RequireExecutable(Executable, Package);
        if (!File.Exists(ConfigFilePath))
        {
            throw new InvalidOperationException($"{ConfigFilePath} is missing: the test project copies deploy/haproxy/haproxy.cfg there");
        }

        return StartAsync(Kind, site => new HaproxyServer(site, backends), cancellationToken);
    }

    /// <summary>The state HAProxy's health checks give each node (<c>node1</c> … <c>node3</c>): UP, DOWN, "UP 1/2", …, and its open sessions.</summary>
    public async Task<IReadOnlyDictionary<string, (string Status, int Sessions)>> ServerStatesAsync(CancellationToken cancellationToken = default)
    {
        var csv = await stats.GetStringAsync(new Uri("stats;csv", UriKind.Relative), cancellationToken);
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].TrimStart('#', ' ').Split(',');
        int Column(string name) => Array.IndexOf(header, name);
        var (proxy, server, status, sessions) = (Column("pxname"), Column("svname"), Column("status"), Column("scur"));
        return lines.Skip(1)
            .Select(l => l.Split(','))
            .Where(f => f[proxy] == "telemetry_nodes" && f[server].StartsWith("node", StringComparison.Ordinal))
            .ToDictionary(f => f[server], f => (f[status], int.Parse(f[sessions], CultureInfo.InvariantCulture)));
    }

    /// <summary>"node1 UP 4, node2 DOWN 0, …" for failure messages.</summary>
    public static string Describe(IReadOnlyDictionary<string, (string Status, int Sessions)> states) =>
        string.Join(", ", states.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value.Status} {p.Value.Sessions} sessions"));

    protected override IEnumerable<string> CommandLine()
    {
        List<string> arguments =
        [
            $"HAPROXY_MQTT_BIND=127.0.0.1:{Port}",
            $"HAPROXY_STATS_BIND=127.0.0.1:{StatsPort}",
            "HAPROXY_MAXCONN=4000", // HAProxy needs about twice as many open files, below this machine's hard limit
        ];
        for (var i = 0; i < backends.Count; i++)
        {
            arguments.Add(string.Create(CultureInfo.InvariantCulture, $"NODE{i + 1}_MQTT=127.0.0.1:{backends[i].MqttPort}"));
            arguments.Add(string.Create(CultureInfo.InvariantCulture, $"NODE{i + 1}_HTTP_PORT={backends[i].HttpPort}"));
        }

        return [.. arguments, Executable, "-db", "-f", ConfigFilePath];
    }

    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        using var response = await stats.GetAsync(new Uri("health", UriKind.Relative), cancellationToken);
        return response.IsSuccessStatusCode;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            stats.Dispose();
        }

        base.Dispose(disposing);
    }
}
