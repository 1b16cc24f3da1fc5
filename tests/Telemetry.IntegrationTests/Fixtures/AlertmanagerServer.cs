using System.Net;
using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// A real Prometheus Alertmanager 0.25 (<c>/usr/bin/prometheus-alertmanager</c>, Debian package
/// <c>prometheus-alertmanager</c>) on a free loopback port, running the repository's own example route
/// (<c>deploy/alertmanager/alertmanager.yml</c>, copied into the test output) with its receivers pointed at test
/// webhooks and its group timers at 1 s, gossip off (an empty <c>--cluster.listen-address=</c>), its silences and
/// notification log in a fresh temp folder deleted on dispose.
/// </summary>
/// <remarks>
/// Verified by hand against 0.25: ready in under 2 s (<c>GET /-/ready</c> answers 200 "OK"); alerts live in memory
/// only, so a restart forgets them (the storage path keeps silences and the notification log).
/// </remarks>
public sealed class AlertmanagerServer : HttpTestServer
{
    public const string Executable = "/usr/bin/prometheus-alertmanager";
    public const string AmtoolExecutable = "/usr/bin/amtool";
    public const string Package = "prometheus-alertmanager";

    static readonly TestServerKind Kind = new("alertmanager", Executable, Package);

    /// <summary>The user and password of <see cref="StartAsync"/>'s <c>basicAuth</c>: its bcrypt hash (cost 4) is in the web config.</summary>
    public const string TestUser = "campus";
    public const string TestPassword = "campus-test-password";
    const string TestPasswordBcrypt = "$2b$04$0vkfvrJw3uStTtf3nASUyOWDZNg8PPkbqoQ3kXq8S/tmKj1DOTR4.";

    readonly IReadOnlyDictionary<string, string> receiverUrls;
    readonly bool basicAuth;

    AlertmanagerServer(TestServerSite site, IReadOnlyDictionary<string, string> receiverUrls, bool basicAuth)
        : base(Kind, site)
    {
        this.receiverUrls = receiverUrls;
        this.basicAuth = basicAuth;
        if (basicAuth)
        {
            // The fixture's own requests (readiness, reading alerts back) authenticate; the code under test brings its own.
            Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
                "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{TestUser}:{TestPassword}")));
        }
    }

    /// <summary>Alertmanager's web config (<c>--web.config.file</c>) when started with basic authentication.</summary>
    string WebConfigPath => Path.Combine(Directory, "web.yml");

    /// <summary>The repository's example route, as copied into the test output.</summary>
    public static string ExampleConfigPath => Path.Combine(AppContext.BaseDirectory, "alertmanager", "alertmanager.yml");

    /// <summary>
    /// Starts Alertmanager on the example route, each receiver named in <paramref name="receiverUrls"/> (all of the
    /// file's receivers must be) sending to its URL as a webhook with <c>send_resolved: true</c>.
    /// </summary>
    /// <param name="receiverUrls">The URL of each receiver of the example route, by name.</param>
    /// <param name="basicAuth">True: every request needs basic authentication as <see cref="TestUser"/> / <see cref="TestPassword"/> (Alertmanager's <c>basic_auth_users</c>).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static Task<AlertmanagerServer> StartAsync(IReadOnlyDictionary<string, string> receiverUrls, bool basicAuth = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(receiverUrls);
        if (!File.Exists(ExampleConfigPath))
        {
            throw new InvalidOperationException($"{ExampleConfigPath} is missing: the test project copies deploy/alertmanager/alertmanager.yml there");
        }

        return StartAsync(Kind, site => new AlertmanagerServer(site, receiverUrls, basicAuth), cancellationToken);
    }

    /// <summary>
    /// <c>GET /api/v2/alerts</c> with matchers (e.g. <c>alert_id="b1-s1-hot-1"</c>): the alerts Alertmanager holds that
    /// have not ended (Alertmanager leaves out resolved ones).
    /// </summary>
    public async Task<IReadOnlyList<JsonElement>> AlertsAsync(string matcher, CancellationToken cancellationToken = default)
    {
        var uri = new Uri($"api/v2/alerts?filter={Uri.EscapeDataString(matcher)}", UriKind.Relative);
        using var response = await Http.GetAsync(uri, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET /api/v2/alerts answered {(int)response.StatusCode}: {body}");
        }

        return [.. JsonSerializer.Deserialize<JsonElement>(body).EnumerateArray()];
    }

    protected override IEnumerable<string> CommandLine() =>
    [
        $"--config.file={ConfigPath}",
        $"--storage.path={Path.Combine(Directory, "data")}",
        $"--web.listen-address=127.0.0.1:{Port}",
        "--cluster.listen-address=",
        "--log.level=info",
        .. basicAuth ? [$"--web.config.file={WebConfigPath}"] : Array.Empty<string>(),
    ];

    protected override Task PrepareAsync(CancellationToken cancellationToken) =>
        basicAuth
            ? File.WriteAllTextAsync(WebConfigPath, $"basic_auth_users:\n  {TestUser}: '{TestPasswordBcrypt}'\n", cancellationToken)
            : Task.CompletedTask;

    /// <summary>The example route with the test's receivers and 1 s group timers (so a test sees notifications quickly).</summary>
    protected override string ConfigFile()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(ExampleConfigPath))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        ShortenTimers((YamlMappingNode)root["route"]);
        foreach (var receiver in ((YamlSequenceNode)root["receivers"]).Cast<YamlMappingNode>())
        {
            var name = ((YamlScalarNode)receiver["name"]).Value!;
            if (!receiverUrls.TryGetValue(name, out var url))
            {
                throw new InvalidOperationException($"deploy/alertmanager/alertmanager.yml has the receiver {name}, which the test gave no URL");
            }

            foreach (var key in receiver.Children.Keys.Cast<YamlScalarNode>().Where(k => k.Value!.EndsWith("_configs", StringComparison.Ordinal)).ToList())
            {
                receiver.Children.Remove(key);
            }

            receiver.Add("webhook_configs", new YamlSequenceNode(new YamlMappingNode(
                new YamlScalarNode("url"), new YamlScalarNode(url),
                new YamlScalarNode("send_resolved"), new YamlScalarNode("true"))));
        }

        using var writer = new StringWriter();
        yaml.Save(writer, assignAnchors: false);
        return writer.ToString();

        static void ShortenTimers(YamlMappingNode route)
        {
            foreach (var timer in new[] { "group_wait", "group_interval" })
            {
                route.Children[new YamlScalarNode(timer)] = new YamlScalarNode("1s");
            }

            if (route.Children.TryGetValue(new YamlScalarNode("routes"), out var routes))
            {
                foreach (var child in ((YamlSequenceNode)routes).Cast<YamlMappingNode>())
                {
                    ShortenTimers(child);
                }
            }
        }
    }

    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        AnswersAsync("-/ready", HttpStatusCode.OK, cancellationToken);
}
