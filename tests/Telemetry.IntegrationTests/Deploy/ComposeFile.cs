using YamlDotNet.RepresentationModel;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>The repository's <c>deploy/docker-compose.yml</c> as written (interpolations like <c>${VAR:-x}</c> unresolved).</summary>
public sealed class ComposeFile
{
    ComposeFile(string repositoryRoot, YamlMappingNode root)
    {
        RepositoryRoot = repositoryRoot;
        Root = root;
    }

    public string RepositoryRoot { get; }

    public string DeployDirectory => Path.Combine(RepositoryRoot, "deploy");

    public string ComposePath => Path.Combine(DeployDirectory, "docker-compose.yml");

    public YamlMappingNode Root { get; }

    public static ComposeFile Load()
    {
        var root = FindRepositoryRoot();
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(root, "deploy", "docker-compose.yml")))
        {
            stream.Load(reader);
        }

        var document = Assert.Single(stream.Documents);
        return new ComposeFile(root, Assert.IsType<YamlMappingNode>(document.RootNode));
    }

    /// <summary>The folder holding Telemetry.sln, found by walking up from the test binaries.</summary>
    public static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Telemetry.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Telemetry.sln above {AppContext.BaseDirectory}");
    }

    public IReadOnlyList<string> ServiceNames => Services.Children.Keys.Select(Scalar).ToList();

    YamlMappingNode Services => Assert.IsType<YamlMappingNode>(Root.Children[new YamlScalarNode("services")]);

    public YamlMappingNode Service(string name) =>
        Services.Children.TryGetValue(new YamlScalarNode(name), out var node)
            ? Assert.IsType<YamlMappingNode>(node)
            : throw new Xunit.Sdk.XunitException($"docker-compose.yml has no service '{name}' (services: {string.Join(", ", ServiceNames)})");

    /// <summary>A service's environment, written either as a mapping or as a list of NAME=value.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment(string service)
    {
        if (!Service(service).Children.TryGetValue(new YamlScalarNode("environment"), out var node))
        {
            return [];
        }

        return node switch
        {
            YamlMappingNode map => map.Children.Select(e => KeyValuePair.Create(Scalar(e.Key), Scalar(e.Value))).ToList(),
            YamlSequenceNode list => list.Children.Select(Scalar).Select(item =>
            {
                var equals = item.IndexOf('=', StringComparison.Ordinal);
                return equals < 0 ? KeyValuePair.Create(item, "") : KeyValuePair.Create(item[..equals], item[(equals + 1)..]);
            }).ToList(),
            _ => throw new Xunit.Sdk.XunitException($"service '{service}': environment is neither a mapping nor a list"),
        };
    }

    /// <summary>Short-syntax volumes: (source, target); the source is a named volume or a path relative to deploy/.</summary>
    public IReadOnlyList<(string Source, string Target)> Volumes(string service)
    {
        if (!Service(service).Children.TryGetValue(new YamlScalarNode("volumes"), out var node))
        {
            return [];
        }

        return Assert.IsType<YamlSequenceNode>(node).Children.Select(Scalar).Select(spec =>
        {
            var parts = spec.Split(':');
            Assert.True(parts.Length >= 2, $"service '{service}': volume '{spec}' is not SOURCE:TARGET[:MODE]");
            return (parts[0], parts[1]);
        }).ToList();
    }

    /// <summary>The service's build context (relative to deploy/) and Dockerfile (relative to the context), if it builds.</summary>
    public (string Context, string Dockerfile)? Build(string service)
    {
        if (!Service(service).Children.TryGetValue(new YamlScalarNode("build"), out var node))
        {
            return null;
        }

        var build = Assert.IsType<YamlMappingNode>(node);
        return (Scalar(build.Children[new YamlScalarNode("context")]), Scalar(build.Children[new YamlScalarNode("dockerfile")]));
    }

    public static bool IsHostPath(string source) => source.StartsWith('.') || source.StartsWith('/');

    static string Scalar(YamlNode node) => node is YamlScalarNode { Value: { } value }
        ? value
        : throw new Xunit.Sdk.XunitException($"expected a plain value at {node.Start}, found {node.NodeType}");
}
