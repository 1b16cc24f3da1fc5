using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>
/// <c>docker-compose config</c>: validates compose files and resolves them (variables interpolated, anchors and merge
/// keys applied, relative paths made absolute) without a Docker engine. Shared by the single-node and cluster tests.
/// </summary>
public static class DockerComposeConfig
{
    const string AptPackage = "docker-compose";
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs <c>docker-compose -f FILE… --env-file ENV config</c> in <paramref name="workingDirectory"/>, with the
    /// <paramref name="variables"/> removed from its environment (they must come from the env file only).
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        IEnumerable<string> composeFiles, string envFile, string workingDirectory, IEnumerable<string> variables)
    {
        var executable = Find();
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var file in composeFiles)
        {
            start.ArgumentList.Add("-f");
            start.ArgumentList.Add(file);
        }

        foreach (var argument in new[] { "--env-file", envFile, "config" })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in variables.Append("COMPOSE_FILE").Append("COMPOSE_PROJECT_NAME"))
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

    static string Find()
    {
        var candidates = (System.Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "docker-compose"))
            .Prepend("/usr/bin/docker-compose");
        return candidates.FirstOrDefault(File.Exists)
               ?? throw new Xunit.Sdk.XunitException(
                   $"docker-compose is not installed (looked in /usr/bin and on PATH); it validates the files in deploy/. " +
                   $"Install it with: sudo apt-get update && sudo apt-get install -y {AptPackage}   (./test.sh does this when run as root)");
    }

    /// <summary>The resolved document's root mapping.</summary>
    public static YamlMappingNode Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Assert.IsType<YamlMappingNode>(Assert.Single(stream.Documents).RootNode);
    }

    public static Dictionary<string, YamlMappingNode> ParseServices(string yaml) =>
        Mapping(Parse(yaml), "services").Children.ToDictionary(
            e => ((YamlScalarNode)e.Key).Value!, e => Assert.IsType<YamlMappingNode>(e.Value), StringComparer.Ordinal);

    /// <summary>docker-compose config writes every environment as a mapping.</summary>
    public static Dictionary<string, string> Environment(YamlMappingNode service) =>
        Mapping(service, "environment").Children
            .ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value ?? "", StringComparer.Ordinal);

    public static List<string> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child)
            ? Assert.IsType<YamlSequenceNode>(child).Children.Select(n => ((YamlScalarNode)n).Value ?? "").ToList()
            : [];

    public static YamlMappingNode Mapping(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child)
            ? Assert.IsType<YamlMappingNode>(child)
            : throw new Xunit.Sdk.XunitException($"no '{key}' in {string.Join(", ", node.Children.Keys)}");

    public static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? Assert.IsType<YamlScalarNode>(child).Value : null;
}
