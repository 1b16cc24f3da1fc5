using System.Diagnostics;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>
/// The compose stack as docker-compose itself resolves it (<c>docker-compose config</c> validates the file and
/// interpolates the variables without a Docker engine).
/// </summary>
public sealed partial class ComposeConfigTests : IDisposable
{
    const string AptPackage = "docker-compose";
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    static readonly Dictionary<string, string> Secrets = new(StringComparer.Ordinal)
    {
        ["INFLUX_ADMIN_PASSWORD"] = "test-admin-password",
        ["INFLUX_TOKEN"] = "test-token-0123456789",
        ["GRAFANA_ADMIN_PASSWORD"] = "test-grafana-password",
        ["MQTT_DEVICE_PASSWORD"] = "test-device-password",
        ["API_ADMIN_KEY_HASH"] = "sha256:46d55e3ac5c22502c1bfaf371696693e93eb415a56fe79da9d761187cce2f76e",
    };

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

    /// <summary>Every ${NAME…} of the compose file and its TLS overlay.</summary>
    HashSet<string> ComposeVariables() =>
        new[] { compose.ComposePath, Path.Combine(compose.DeployDirectory, "docker-compose.tls.yml") }
            .SelectMany(path => ComposeVariable().Matches(File.ReadAllText(path)))
            .Select(m => m.Groups[1].Value)
            .ToHashSet(StringComparer.Ordinal);

    string WriteEnvFile(IReadOnlyDictionary<string, string> values)
    {
        var path = Path.Combine(directory, $"test-{Guid.NewGuid():N}.env");
        File.WriteAllLines(path, values.Select(v => $"{v.Key}={v.Value}"));
        return path;
    }

    async Task<(int ExitCode, string Stdout, string Stderr)> RunConfigAsync(string envFile, string? overlay = null)
    {
        var executable = FindDockerCompose();
        var start = new ProcessStartInfo(executable)
        {
            ArgumentList = { "-f", compose.ComposePath },
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (overlay is not null)
        {
            start.ArgumentList.Add("-f");
            start.ArgumentList.Add(Path.Combine(compose.DeployDirectory, overlay));
        }

        foreach (var argument in new[] { "--env-file", envFile, "config" })
        {
            start.ArgumentList.Add(argument);
        }

        // The variables must come from the env file only, not from whoever runs the tests.
        foreach (var name in ComposeVariables().Append("COMPOSE_FILE").Append("COMPOSE_PROJECT_NAME"))
        {
            start.Environment.Remove(name);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{executable} did not start");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(Timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    static string FindDockerCompose()
    {
        var candidates = (System.Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "docker-compose"))
            .Prepend("/usr/bin/docker-compose");
        return candidates.FirstOrDefault(File.Exists)
               ?? throw new Xunit.Sdk.XunitException(
                   $"docker-compose is not installed (looked in /usr/bin and on PATH); it validates deploy/docker-compose.yml. " +
                   $"Install it with: sudo apt-get update && sudo apt-get install -y {AptPackage}   (./test.sh does this when run as root)");
    }

    static Dictionary<string, YamlMappingNode> ParseServices(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = Assert.IsType<YamlMappingNode>(Assert.Single(stream.Documents).RootNode);
        var services = Assert.IsType<YamlMappingNode>(root.Children[new YamlScalarNode("services")]);
        return services.Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => Assert.IsType<YamlMappingNode>(e.Value), StringComparer.Ordinal);
    }

    /// <summary>docker-compose config writes every environment as a mapping.</summary>
    static Dictionary<string, string> Environment(YamlMappingNode service) =>
        Assert.IsType<YamlMappingNode>(service.Children[new YamlScalarNode("environment")]).Children
            .ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value ?? "", StringComparer.Ordinal);

    static List<string> Sequence(YamlMappingNode service, string key) =>
        service.Children.TryGetValue(new YamlScalarNode(key), out var node)
            ? Assert.IsType<YamlSequenceNode>(node).Children.Select(n => ((YamlScalarNode)n).Value ?? "").ToList()
            : [];

    [GeneratedRegex(@"\$\{(\w+)")]
    private static partial Regex ComposeVariable();
}
