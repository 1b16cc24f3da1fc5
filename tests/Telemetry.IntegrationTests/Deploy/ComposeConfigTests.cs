using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>
/// The compose stack as docker-compose itself resolves it (<c>docker-compose config</c> validates the file and
/// interpolates the variables without a Docker engine).
/// </summary>
public sealed partial class ComposeConfigTests : IDisposable
{
    static readonly Dictionary<string, string> Secrets = new(StringComparer.Ordinal)
    {
        ["INFLUX_ADMIN_PASSWORD"] = "test-admin-password",
        ["INFLUX_TOKEN"] = "test-token-0123456789",
        ["GRAFANA_ADMIN_PASSWORD"] = "test-grafana-password",
        ["MQTT_DEVICE_PASSWORD"] = "test-device-password",
        ["API_ADMIN_KEY_HASH"] = "sha256:46d55e3ac5c22502c1bfaf371696693e93eb415a56fe79da9d761187cce2f76e",
    };

    /// <summary>The secrets, and the cluster's (docker-compose.cluster.yml).</summary>
    internal static IReadOnlyDictionary<string, string> ClusterSecrets { get; } =
        new Dictionary<string, string>(Secrets, StringComparer.Ordinal) { ["POSTGRES_PASSWORD"] = "test-postgres-password" };

    readonly ComposeFile compose = ComposeFile.Load();
    readonly string directory = Directory.CreateTempSubdirectory("telemetry-compose-test-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Config_WithTheSecretsSet_ResolvesEveryService()
    {
        var env = new Dictionary<string, string>(Secrets, StringComparer.Ordinal) { ["MQTT_DEVICE_USER"] = "test-device" };

        var result = await RunConfigAsync(WriteEnvFile(env));

        Assert.True(result.ExitCode == 0, $"docker-compose config failed ({result.ExitCode}): {result.Stderr}");
        var resolved = ParseServices(result.Stdout);
        Assert.Equal(["grafana", "influxdb", "simulator", "telemetry"], resolved.Keys.Order(StringComparer.Ordinal));

        var telemetry = Environment(resolved["telemetry"]);
        Assert.Equal("test-token-0123456789", telemetry["Influx__Token"]);
        // Devices log in with the credential store; no password reaches the service's configuration.
        Assert.Equal("/etc/campus/credentials/devices.passwd", telemetry["Broker__CredentialsFile"]);
        Assert.DoesNotContain(telemetry, kv => kv.Value.Contains("test-device-password", StringComparison.Ordinal));
        Assert.Equal(Secrets["API_ADMIN_KEY_HASH"], telemetry["Api__Keys__0__Hash"]);
        Assert.Equal("test-token-0123456789", Environment(resolved["grafana"])["INFLUXDB_TOKEN"]);
        Assert.Equal("test-token-0123456789", Environment(resolved["influxdb"])["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"]);
        Assert.Equal("test-device-password", Environment(resolved["simulator"])["DEVICE_SIM_PASSWORD"]);
        var command = Sequence(resolved["simulator"], "command");
        Assert.Equal("test-device", command[command.IndexOf("--username") + 1]);
        Assert.Equal("telemetry", command[command.IndexOf("--host") + 1]);

        // Nothing is reachable from other machines unless asked for.
        var ports = resolved.Values.SelectMany(s => Sequence(s, "ports")).ToList();
        Assert.NotEmpty(ports);
        Assert.All(ports, p => Assert.StartsWith("127.0.0.1:", p, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Config_WithTheTlsOverlay_ServesDevicesOnTheTlsListenerWithTheCampusCa()
    {
        var env = new Dictionary<string, string>(Secrets, StringComparer.Ordinal) { ["MQTT_DEVICE_USER"] = "test-device" };

        var result = await RunConfigAsync(WriteEnvFile(env), "docker-compose.tls.yml");

        Assert.True(result.ExitCode == 0, $"docker-compose config with docker-compose.tls.yml failed ({result.ExitCode}): {result.Stderr}");
        var telemetry = ParseServices(result.Stdout)["telemetry"];
        var environment = Environment(telemetry);
        Assert.Equal("true", environment["Broker__Tls__Enabled"]);
        Assert.Equal("/etc/campus/certs/server.crt", environment["Broker__Tls__CertificateFile"]);
        Assert.Equal("/etc/campus/certs/ca.crt", environment["Broker__Tls__ClientCaFile"]);
        Assert.Equal("Optional", environment["Broker__Tls__ClientCertificates"]);
        // The base file's settings stay: the credential store, and no password in the service's configuration.
        Assert.Equal("/etc/campus/credentials/devices.passwd", environment["Broker__CredentialsFile"]);
        Assert.Contains(Sequence(telemetry, "ports"), p => p.StartsWith("127.0.0.1:8883:8883", StringComparison.Ordinal));
        Assert.Contains(Sequence(telemetry, "volumes"), v => v.Contains("/etc/campus/certs", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("INFLUX_TOKEN")]
    [InlineData("INFLUX_ADMIN_PASSWORD")]
    [InlineData("GRAFANA_ADMIN_PASSWORD")]
    [InlineData("MQTT_DEVICE_PASSWORD")]
    [InlineData("API_ADMIN_KEY_HASH")]
    public async Task Config_WithoutASecret_FailsNamingIt(string secret)
    {
        var env = Secrets.Where(s => s.Key != secret).ToDictionary();

        var result = await RunConfigAsync(WriteEnvFile(env));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"set {secret} in deploy/.env", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_OfTheExampleEnvFile_Validates()
    {
        var result = await RunConfigAsync(Path.Combine(compose.DeployDirectory, ".env.example"));

        Assert.True(result.ExitCode == 0, $"docker-compose config with deploy/.env.example failed ({result.ExitCode}): {result.Stderr}");
        Assert.Contains("change-me", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void EnvExample_ListsEveryVariableTheComposeFileUses()
    {
        var used = ComposeVariables();
        var listed = File.ReadAllLines(Path.Combine(compose.DeployDirectory, ".env.example"))
            .Where(l => !l.TrimStart().StartsWith('#') && l.Contains('=', StringComparison.Ordinal))
            .Select(l => l[..l.IndexOf('=', StringComparison.Ordinal)].Trim())
            .ToHashSet(StringComparer.Ordinal);

        Assert.Contains("INFLUX_TOKEN", used);
        Assert.Empty(used.Except(listed));
    }

    /// <summary>Every ${NAME…} of the compose file, its TLS overlay and the cluster's compose file.</summary>
    HashSet<string> ComposeVariables() => Variables(compose.DeployDirectory);

    internal static HashSet<string> Variables(string deployDirectory) =>
        new[] { "docker-compose.yml", "docker-compose.tls.yml", "docker-compose.cluster.yml" }
            .Select(file => Path.Combine(deployDirectory, file))
            .SelectMany(path => ComposeVariable().Matches(File.ReadAllText(path)))
            .Select(m => m.Groups[1].Value)
            .ToHashSet(StringComparer.Ordinal);

    string WriteEnvFile(IReadOnlyDictionary<string, string> values)
    {
        var path = Path.Combine(directory, $"test-{Guid.NewGuid():N}.env");
        File.WriteAllLines(path, values.Select(v => $"{v.Key}={v.Value}"));
        return path;
    }

    Task<(int ExitCode, string Stdout, string Stderr)> RunConfigAsync(string envFile, string? overlay = null) =>
        DockerComposeConfig.RunAsync(
            overlay is null ? [compose.ComposePath] : [compose.ComposePath, Path.Combine(compose.DeployDirectory, overlay)],
            envFile, directory, ComposeVariables());

    static Dictionary<string, YamlMappingNode> ParseServices(string yaml) => DockerComposeConfig.ParseServices(yaml);

    static Dictionary<string, string> Environment(YamlMappingNode service) => DockerComposeConfig.Environment(service);

    static List<string> Sequence(YamlMappingNode service, string key) => DockerComposeConfig.Sequence(service, key);

    [GeneratedRegex(@"\$\{(\w+)")]
    private static partial Regex ComposeVariable();
}
