using System.Text.RegularExpressions;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>The compose file against the code and the repository: configuration keys, mounted paths, Grafana's variables.</summary>
public sealed partial class ComposeServiceConfigurationTests
{
    readonly ComposeFile compose = ComposeFile.Load();

    [Fact]
    public void Compose_DefinesTheFourServices()
    {
        Assert.Equal(["grafana", "influxdb", "simulator", "telemetry"], compose.ServiceNames.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TelemetryEnvironment_NamesOnlyRealConfigurationKeys()
    {
        var environment = compose.Environment("telemetry");
        var configuration = environment.Where(v => ServiceConfigurationKeys.IsConfigurationVariable(v.Key)).ToList();

        Assert.Empty(ServiceConfigurationKeys.Problems(environment));
        // The container's essentials are there, so the check above did not pass on an empty list.
        foreach (var key in new[] { "Urls", "Influx__Api", "Influx__Url", "Influx__Org", "Influx__Bucket", "Influx__Token", "Broker__Host", "Campus__RegistryPath", "Campus__StatePath", "Spool__Path" })
        {
            Assert.Contains(configuration, v => v.Key == key);
        }

        Assert.Contains(configuration, v => v.Key == "Broker__CredentialsFile");
    }

    [Fact]
    public void TelemetryEnvironment_ListensOnAllInterfaces_AndRefusesAnonymousDevices()
    {
        var environment = compose.Environment("telemetry").ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);

        Assert.Equal("0.0.0.0", environment["Broker__Host"]);
        Assert.Equal("false", environment["Broker__AllowAnonymous"]);
        Assert.Equal("http://0.0.0.0:8080", environment["Urls"]);
        Assert.Equal("http://influxdb:8086", environment["Influx__Url"]);
        Assert.StartsWith("${INFLUX_TOKEN:?", environment["Influx__Token"], StringComparison.Ordinal);
        // Listening on all interfaces, the HTTP API must have authentication, or the service refuses to start.
        Assert.Equal("admin", environment["Api__Keys__0__Role"]);
        Assert.StartsWith("${API_ADMIN_KEY_HASH:?", environment["Api__Keys__0__Hash"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Influx__Tokn", "tok", "InfluxOptions has no settable property 'Tokn'")]
    [InlineData("Spool__MaxByte", "1024", "SpoolOptions has no settable property 'MaxByte'")]
    [InlineData("Influxdb__Url", "http://x", "'Influxdb' is not a configuration section")]
    [InlineData("Broker__Port__Number", "1", "'Port' is a single value")]
    [InlineData("Broker__Port", "not-a-port", "Broker")]
    [InlineData("Alerts__Webhooks__first__Url", "http://x", "'first' is not an index")]
    public void AMisspeltOrMistypedKey_IsReported(string name, string value, string expected)
    {
        var problems = ServiceConfigurationKeys.Problems([KeyValuePair.Create(name, value), KeyValuePair.Create("Urls", "http://0.0.0.0:8080")]);

        var problem = Assert.Single(problems);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void WellFormedKeys_OfEverySection_PassTheCheck()
    {
        var problems = ServiceConfigurationKeys.Problems(
        [
            KeyValuePair.Create("influx__api", "V1"),
            KeyValuePair.Create("Influx__LongRetentionPolicy", "long"),
            KeyValuePair.Create("Writer__MaxBatchLines", "100"),
            KeyValuePair.Create("Ingest__MaxFutureSkew", "00:01:00"),
            KeyValuePair.Create("Broker__CredentialsFile", "/etc/campus/credentials/devices.passwd"),
            KeyValuePair.Create("Alerts__Webhooks__0__Url", "https://ops.example/hook"),
            KeyValuePair.Create("Orleans__SiloPort", "11111"),
            KeyValuePair.Create("Campus__RegistryPollInterval", "00:00:05"),
            KeyValuePair.Create("DOTNET_gcServer", "0"),
        ]);

        Assert.Empty(problems);
    }

    [Fact]
    public void StateAndSpool_LiveOnTheServiceVolume_AndTheRegistryIsMounted()
    {
        var environment = compose.Environment("telemetry").ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);
        var volumes = compose.Volumes("telemetry");

        var data = Assert.Single(volumes, v => !ComposeFile.IsHostPath(v.Source));
        Assert.Equal("/var/lib/campus-telemetry", data.Target);
        Assert.StartsWith(data.Target + "/", environment["Spool__Path"], StringComparison.Ordinal);
        Assert.StartsWith(data.Target + "/", environment["Campus__StatePath"], StringComparison.Ordinal);
        Assert.Contains(volumes, v => v.Source == "./campus.yaml" && v.Target == environment["Campus__RegistryPath"]);
    }

    [Fact]
    public void EveryMountedPathAndBuildFile_ExistsInTheRepository()
    {
        var checkedPaths = new List<string>();
        foreach (var service in compose.ServiceNames)
        {
            foreach (var (source, _) in compose.Volumes(service).Where(v => ComposeFile.IsHostPath(v.Source)))
            {
                var path = Path.GetFullPath(source, compose.DeployDirectory);
                Assert.True(File.Exists(path) || Directory.Exists(path), $"service '{service}' mounts {source}, which does not exist ({path})");
                checkedPaths.Add(Path.GetRelativePath(compose.RepositoryRoot, path));
            }

            if (compose.Build(service) is var (context, dockerfile))
            {
                var contextPath = Path.GetFullPath(context, compose.DeployDirectory);
                Assert.True(File.Exists(Path.Combine(contextPath, dockerfile)), $"service '{service}' builds with {dockerfile}, which is not in {contextPath}");
                Assert.True(File.Exists(Path.Combine(contextPath, "Telemetry.sln")), $"service '{service}': the build context {contextPath} is not the repository root");
            }
        }

        Assert.Contains(Path.Combine("deploy", "campus.yaml"), checkedPaths);
        Assert.Contains(Path.Combine("deploy", "scenario.yaml"), checkedPaths);
        Assert.Contains(Path.Combine("dashboards", "provisioning"), checkedPaths);
        Assert.Contains(Path.Combine("dashboards", "campus"), checkedPaths);
        Assert.Contains(Path.Combine("deploy", "influxdb"), checkedPaths);
    }

    [Fact]
    public void Grafana_IsGivenEveryVariableTheDatasourceReads()
    {
        // Comments mention ${VAR} as Grafana's syntax; only the settings count.
        var datasource = string.Join('\n', File.ReadAllLines(Path.Combine(compose.RepositoryRoot, "dashboards", "provisioning", "datasources", "influxdb.yaml"))
            .Where(l => !l.TrimStart().StartsWith('#')));
        var used = ProvisioningVariable().Matches(datasource).Select(m => m.Groups[1].Value).Distinct().ToList();
        var environment = compose.Environment("grafana").ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);

        Assert.Contains("INFLUXDB_URL", used);
        Assert.Contains("INFLUXDB_TOKEN", used);
        foreach (var name in used)
        {
            Assert.True(environment.ContainsKey(name), $"the datasource reads ${{{name}}}, which the grafana service does not set");
        }

        Assert.Equal("http://influxdb:8086", environment["INFLUXDB_URL"]);
        Assert.Equal("campus", environment["INFLUXDB_DATABASE"]);
        Assert.Contains(compose.Volumes("grafana"), v => v.Source == "../dashboards/provisioning" && v.Target == "/etc/grafana/provisioning");
        Assert.Contains(compose.Volumes("grafana"), v => v.Source == "../dashboards/campus" && v.Target == "/var/lib/grafana/dashboards");
    }

    [Fact]
    public void InfluxInitScript_MapsTheDatabaseTheDashboardsQuery()
    {
        var script = File.ReadAllText(Path.Combine(compose.DeployDirectory, "influxdb", "10-campus-dbrp.sh"));
        var environment = compose.Environment("influxdb").ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);

        Assert.Contains(compose.Volumes("influxdb"), v => v.Source == "./influxdb" && v.Target == "/docker-entrypoint-initdb.d");
        Assert.Contains("influx v1 dbrp create", script, StringComparison.Ordinal);
        Assert.Contains("--rp autogen", script, StringComparison.Ordinal);
        Assert.Contains("--default", script, StringComparison.Ordinal);
        Assert.Equal(compose.Environment("grafana").Single(v => v.Key == "INFLUXDB_DATABASE").Value, environment["CAMPUS_INFLUXQL_DATABASE"]);
        Assert.Equal("setup", environment["DOCKER_INFLUXDB_INIT_MODE"]);
    }

    [GeneratedRegex(@"\$\{(\w+)\}")]
    private static partial Regex ProvisioningVariable();
}
