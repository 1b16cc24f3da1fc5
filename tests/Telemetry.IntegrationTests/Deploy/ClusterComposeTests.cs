using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Telemetry.Service.Cluster;
using YamlDotNet.RepresentationModel;
using static Telemetry.IntegrationTests.Deploy.DockerComposeConfig;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>
/// <c>deploy/docker-compose.cluster.yml</c> as docker-compose resolves it (anchors merged, variables from a test env
/// file): three nodes of one PostgreSQL-backed Orleans cluster, the schema job, HAProxy with deploy/haproxy/haproxy.cfg,
/// InfluxDB and Grafana as in the single-node file.
/// </summary>
public sealed partial class ClusterComposeTests : IDisposable
{
    static readonly string[] Nodes = ["node1", "node2", "node3"];
    const string DataVolumeTarget = "/var/lib/campus-telemetry";
    const int PostgresDefaultMaxConnections = 100;

    readonly string deployDirectory = Path.Combine(ComposeFile.FindRepositoryRoot(), "deploy");
    readonly string directory = Directory.CreateTempSubdirectory("telemetry-cluster-compose-test-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    string ClusterFile => Path.Combine(deployDirectory, "docker-compose.cluster.yml");

    [Fact]
    public async Task Config_WithTheSecretsSet_ResolvesTheClusterStack()
    {
        var services = await ResolveAsync();

        Assert.Equal(
            ["cluster-schema", "grafana", "haproxy", "influxdb", "node1", "node2", "node3", "postgres", "simulator"],
            services.Keys.Order(StringComparer.Ordinal));
        // Nothing is reachable from other machines unless asked for (MQTT_BIND_ADDRESS), and neither PostgreSQL nor
        // any silo or gateway port is published at all.
        var ports = services.Values.SelectMany(s => Sequence(s, "ports")).ToList();
        Assert.NotEmpty(ports);
        Assert.All(ports, p => Assert.StartsWith("127.0.0.1:", p, StringComparison.Ordinal));
        Assert.DoesNotContain(ports, p => p.Contains(":11111", StringComparison.Ordinal) || p.Contains(":30000", StringComparison.Ordinal));
        Assert.Empty(Sequence(services["postgres"], "ports"));
    }

    [Theory]
    [InlineData("POSTGRES_PASSWORD")]
    [InlineData("INFLUX_TOKEN")]
    [InlineData("API_ADMIN_KEY_HASH")]
    public async Task Config_WithoutASecret_FailsNamingIt(string secret)
    {
        var result = await RunAsync(ComposeConfigTests.ClusterSecrets.Where(s => s.Key != secret).ToDictionary());

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"set {secret} in deploy/.env", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_OfTheExampleEnvFile_Validates()
    {
        var result = await DockerComposeConfig.RunAsync(
            [ClusterFile], Path.Combine(deployDirectory, ".env.example"), directory, ComposeConfigTests.Variables(deployDirectory));

        Assert.True(result.ExitCode == 0, $"docker-compose config of the cluster file with deploy/.env.example failed ({result.ExitCode}): {result.Stderr}");
    }

    [Fact]
    public async Task Nodes_NameOnlyRealConfigurationKeys_WithValuesTheServiceReads()
    {
        var services = await ResolveAsync();

        foreach (var service in Nodes.Append("cluster-schema"))
        {
            var environment = Environment(services[service]);
            Assert.True(ServiceConfigurationKeys.Problems(environment).Count == 0,
                $"{service}: {string.Join("; ", ServiceConfigurationKeys.Problems(environment))}");
        }

        foreach (var node in Nodes)
        {
            var environment = Environment(services[node]);
            foreach (var key in new[] { "Urls", "Influx__Url", "Influx__Token", "Broker__CredentialsFile", "Campus__RegistryPath", "Spool__Path", "Campus__StatePath", "Api__Keys__0__Hash" })
            {
                Assert.True(environment.ContainsKey(key), $"{node} does not set {key}");
            }

            Assert.Equal("false", environment["Broker__AllowAnonymous"]);
            Assert.Equal(ComposeConfigTests.ClusterSecrets["INFLUX_TOKEN"], environment["Influx__Token"]);
        }
    }

    [Fact]
    public async Task Nodes_FormOneClusterInPostgres_EachAdvertisingItsOwnAddressAndName()
    {
        var services = await ResolveAsync();
        var schema = Environment(services["cluster-schema"])["Orleans__ConnectionString"];
        var postgres = Environment(services["postgres"]);
        var connection = new NpgsqlConnectionStringBuilder(schema);
        // The connection string names the compose service and the database, user and password it creates.
        Assert.Equal("postgres", connection.Host);
        Assert.Equal(postgres["POSTGRES_DB"], connection.Database);
        Assert.Equal(postgres["POSTGRES_USER"], connection.Username);
        Assert.Equal(ComposeConfigTests.ClusterSecrets["POSTGRES_PASSWORD"], connection.Password);
        Assert.Equal(connection.Password, postgres["POSTGRES_PASSWORD"]);

        var subnet = Assert.Single(Mapping(Mapping(Mapping(await ResolvedRootAsync(), "networks"), "cluster"), "ipam").Children
            .Where(c => ((YamlScalarNode)c.Key).Value == "config")
            .SelectMany(c => ((YamlSequenceNode)c.Value).Children.Cast<YamlMappingNode>())
            .Select(c => Scalar(c, "subnet")));
        var network = IPNetwork.Parse(subnet!);

        var names = new List<string>();
        var addresses = new List<string>();
        foreach (var node in Nodes)
        {
            var environment = Environment(services[node]);
            var options = Bind(environment);
            Assert.Empty(options.Problems());
            Assert.Equal(ClusteringMode.AdoNet, options.Clustering);
            // The schema job's database, and a pool small enough that the nodes together fit PostgreSQL's default
            // max_connections (100, 3 of them reserved for superusers; Npgsql's default pool of 100 would exhaust it).
            var pool = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            Assert.Equal((connection.Host, connection.Port, connection.Database, connection.Username, connection.Password),
                (pool.Host, pool.Port, pool.Database, pool.Username, pool.Password));
            Assert.True(Nodes.Length * pool.MaxPoolSize + 1 <= PostgresDefaultMaxConnections - 3,
                $"{node}: {Nodes.Length} nodes × Maximum Pool Size {pool.MaxPoolSize} (+ the schema job) exceed PostgreSQL's default max_connections");
            Assert.Equal("campus", options.ClusterId);

            // The advertised address is the node's own fixed address on the cluster network (the silo listens on it).
            var address = Scalar(Mapping(Mapping(services[node], "networks"), "cluster"), "ipv4_address");
            Assert.Equal(address, options.AdvertisedAddress);
            Assert.True(network.Contains(IPAddress.Parse(address!)), $"{node}: {address} is not in the cluster network {subnet}");
            names.Add(options.EffectiveNodeName);
            addresses.Add(address!);

            // The nodes start once the schema job has succeeded, and PostgreSQL's data outlives the container.
            var dependsOn = Mapping(services[node], "depends_on");
            Assert.Equal("service_completed_successfully", Scalar(Mapping(dependsOn, "cluster-schema"), "condition"));
        }

        Assert.Equal(Nodes, names);
        Assert.Equal(3, addresses.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains(Sequence(services["postgres"], "volumes"), v => v.EndsWith(":/var/lib/postgresql/data:rw", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SchemaJob_RunsTheServicesSchemaCommand_WithTheNodesImage()
    {
        var services = await ResolveAsync();
        var job = services["cluster-schema"];

        Assert.Equal([ClusterSchema.Verb, "apply"], Sequence(job, "command"));
        Assert.Equal("no", Scalar(job, "restart"));
        Assert.Equal("service_healthy", Scalar(Mapping(Mapping(job, "depends_on"), "postgres"), "condition"));
        foreach (var node in Nodes)
        {
            Assert.Equal(Scalar(job, "image"), Scalar(services[node], "image"));
            Assert.Equal(Scalar(Mapping(job, "build"), "dockerfile"), Scalar(Mapping(services[node], "build"), "dockerfile"));
        }

        Assert.EndsWith("service.Dockerfile", Scalar(Mapping(job, "build"), "dockerfile"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachNode_KeepsItsSpoolOnAVolumeOfItsOwn_AndHasTimeToDrainWhenStopped()
    {
        var services = await ResolveAsync();
        var declared = Mapping(await ResolvedRootAsync(), "volumes").Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToList();

        var sources = new List<string>();
        foreach (var node in Nodes)
        {
            var environment = Environment(services[node]);
            var data = Assert.Single(Sequence(services[node], "volumes").Select(v => v.Split(':')), v => !v[0].StartsWith('/'));
            Assert.Equal(DataVolumeTarget, data[1]);
            Assert.Contains(data[0], declared);
            Assert.StartsWith(DataVolumeTarget + "/", environment["Spool__Path"], StringComparison.Ordinal);
            Assert.StartsWith(DataVolumeTarget + "/", environment["Campus__StatePath"], StringComparison.Ordinal);
            sources.Add(data[0]);

            // Longer than the host's own shutdown timeout (30 s): the broker stops, the feeder's last checkpoint, the
            // silo hands its grains over, the drainer writes on for Spool:ShutdownDrainTimeout.
            Assert.True(GoDuration(Scalar(services[node], "stop_grace_period")) >= TimeSpan.FromSeconds(45),
                $"{node}: stop_grace_period {Scalar(services[node], "stop_grace_period")} leaves no time to drain");
        }

        Assert.Equal(3, sources.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task Haproxy_IsGivenEveryVariableItsConfigReads_PointingAtTheNodes()
    {
        var services = await ResolveAsync();
        var haproxy = services["haproxy"];
        var environment = Environment(haproxy);
        var config = Path.Combine(deployDirectory, "haproxy", "haproxy.cfg");

        Assert.StartsWith("haproxy:2.6", Scalar(haproxy, "image"), StringComparison.Ordinal);
        Assert.Contains(Sequence(haproxy, "volumes"), v => v == $"{config}:/usr/local/etc/haproxy/haproxy.cfg:ro");
        Assert.True(File.Exists(config), $"{config} is mounted into haproxy but does not exist");

        // "${NAME}" without a default ("${NAME-default}") must be set, or HAProxy reads an empty string.
        var required = HaproxyVariable().Matches(string.Join('\n', File.ReadAllLines(config).Where(l => !l.TrimStart().StartsWith('#'))))
            .Where(m => !m.Groups[2].Success).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Contains("HAPROXY_MQTT_BIND", required);
        foreach (var name in required)
        {
            Assert.True(environment.ContainsKey(name) && environment[name].Length > 0, $"haproxy.cfg reads ${{{name}}}, which the haproxy service does not set");
        }

        for (var i = 1; i <= Nodes.Length; i++)
        {
            var node = Environment(services[Nodes[i - 1]]);
            Assert.Equal($"{Nodes[i - 1]}:{node["Broker__Port"]}", environment[$"NODE{i}_MQTT"]);
            Assert.Equal(new Uri(node["Urls"]).Port.ToString(System.Globalization.CultureInfo.InvariantCulture), environment[$"NODE{i}_HTTP_PORT"]);
        }

        // Devices reach HAProxy's MQTT frontend on the published MQTT port, and the simulator goes through it too.
        var bindPort = environment["HAPROXY_MQTT_BIND"].Split(':')[^1];
        Assert.Contains(Sequence(haproxy, "ports"), p => p.EndsWith($":{bindPort}/tcp", StringComparison.Ordinal) && p.StartsWith("127.0.0.1:1883:", StringComparison.Ordinal));
        var command = Sequence(services["simulator"], "command");
        Assert.Equal("haproxy", command[command.IndexOf("--host") + 1]);
        Assert.Equal(bindPort, command[command.IndexOf("--port") + 1]);
    }

    [Fact]
    public async Task InfluxDbAndGrafana_AreThoseOfTheSingleNodeStack()
    {
        var cluster = await ResolveAsync();
        var single = await DockerComposeConfig.RunAsync(
            [Path.Combine(deployDirectory, "docker-compose.yml")], WriteEnvFile(ComposeConfigTests.ClusterSecrets), directory,
            ComposeConfigTests.Variables(deployDirectory));
        Assert.True(single.ExitCode == 0, single.Stderr);
        var singleServices = ParseServices(single.Stdout);

        foreach (var service in new[] { "influxdb", "grafana" })
        {
            Assert.Equal(Scalar(singleServices[service], "image"), Scalar(cluster[service], "image"));
            Assert.Equal(Environment(singleServices[service]), Environment(cluster[service]));
            Assert.Equal(Sequence(singleServices[service], "volumes"), Sequence(cluster[service], "volumes"));
        }

        foreach (var node in Nodes)
        {
            Assert.Equal(Environment(singleServices["telemetry"])["Influx__Url"], Environment(cluster[node])["Influx__Url"]);
        }
    }

    [Fact]
    public async Task EveryMountedPath_ExistsInTheRepository()
    {
        var services = await ResolveAsync();
        var mounted = services.SelectMany(s => Sequence(s.Value, "volumes").Select(v => (Service: s.Key, Source: v.Split(':')[0])))
            .Where(m => m.Source.StartsWith('/'))
            .ToList();

        Assert.Contains(mounted, m => m.Source.EndsWith("/deploy/campus.yaml", StringComparison.Ordinal));
        foreach (var (service, source) in mounted)
        {
            Assert.True(File.Exists(source) || Directory.Exists(source), $"service '{service}' mounts {source}, which does not exist");
        }
    }

    static SiloOptions Bind(IReadOnlyDictionary<string, string> environment) =>
        ClusterHosting.ReadSiloOptions(new ConfigurationBuilder()
            .AddInMemoryCollection(environment.Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), (string?)e.Value)))
            .Build());

    /// <summary>A Go duration as compose writes it: 1m, 60s, 1m30s.</summary>
    static TimeSpan GoDuration(string? text)
    {
        Assert.NotNull(text);
        var match = GoDurationPattern().Match(text);
        Assert.True(match.Success, $"'{text}' is not a duration");
        int Part(string group) => match.Groups[group].Success ? int.Parse(match.Groups[group].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        return new TimeSpan(Part("h"), Part("m"), Part("s"));
    }

    async Task<Dictionary<string, YamlMappingNode>> ResolveAsync() => ParseServices(await ResolvedAsync());

    async Task<YamlMappingNode> ResolvedRootAsync() => Parse(await ResolvedAsync());

    async Task<string> ResolvedAsync()
    {
        var result = await RunAsync(ComposeConfigTests.ClusterSecrets);
        Assert.True(result.ExitCode == 0, $"docker-compose config of docker-compose.cluster.yml failed ({result.ExitCode}): {result.Stderr}");
        return result.Stdout;
    }

    Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IReadOnlyDictionary<string, string> env) =>
        DockerComposeConfig.RunAsync([ClusterFile], WriteEnvFile(env), directory, ComposeConfigTests.Variables(deployDirectory));

    string WriteEnvFile(IReadOnlyDictionary<string, string> values)
    {
        var path = Path.Combine(directory, $"test-{Guid.NewGuid():N}.env");
        File.WriteAllLines(path, values.Select(v => $"{v.Key}={v.Value}"));
        return path;
    }

    [GeneratedRegex(@"\$\{(\w+)(-[^}]*)?\}")]
    private static partial Regex HaproxyVariable();

    [GeneratedRegex(@"^(?:(?<h>\d+)h)?(?:(?<m>\d+)m)?(?:(?<s>\d+)s)?$")]
    private static partial Regex GoDurationPattern();
}
