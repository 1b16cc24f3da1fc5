using YamlDotNet.RepresentationModel;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>One document of <c>deploy/k8s/*.yaml</c>.</summary>
public sealed record KubernetesObject(string File, string Kind, string Name, YamlMappingNode Node);

/// <summary>
/// The Kubernetes manifests of <c>deploy/k8s/</c>, parsed (no cluster or kubectl here), with small helpers to walk them.
/// </summary>
public sealed class KubernetesManifests
{
    KubernetesManifests(string directory, IReadOnlyList<KubernetesObject> objects)
    {
        Directory = directory;
        Objects = objects;
    }

    public string Directory { get; }

    public IReadOnlyList<KubernetesObject> Objects { get; }

    public static KubernetesManifests Load()
    {
        var directory = Path.Combine(ComposeFile.FindRepositoryRoot(), "deploy", "k8s");
        var objects = new List<KubernetesObject>();
        foreach (var file in System.IO.Directory.GetFiles(directory, "*.yaml").Order(StringComparer.Ordinal))
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(file))
            {
                stream.Load(reader);
            }

            foreach (var document in stream.Documents)
            {
                var node = Assert.IsType<YamlMappingNode>(document.RootNode);
                var name = Path.GetFileName(file);
                Assert.True(Str(node, "apiVersion") is { Length: > 0 }, $"{name}: a document without apiVersion");
                var kind = Str(node, "kind") ?? throw new Xunit.Sdk.XunitException($"{name}: a document without kind");
                var objectName = TryMap(node, "metadata") is { } metadata ? Str(metadata, "name") ?? "" : "";
                objects.Add(new KubernetesObject(name, kind, objectName, node));
            }
        }

        return new KubernetesManifests(directory, objects);
    }

    public KubernetesObject One(string kind) => Assert.Single(Objects, o => o.Kind == kind);

    public KubernetesObject Get(string kind, string name) =>
        Objects.FirstOrDefault(o => o.Kind == kind && o.Name == name)
        ?? throw new Xunit.Sdk.XunitException($"deploy/k8s has no {kind} '{name}' (it has: {string.Join(", ", Objects.Select(o => $"{o.Kind}/{o.Name}"))})");

    public static YamlMappingNode Map(YamlMappingNode node, string key) =>
        TryMap(node, key) ?? throw new Xunit.Sdk.XunitException($"no mapping '{key}' (keys: {string.Join(", ", node.Children.Keys)})");

    public static YamlMappingNode? TryMap(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? Assert.IsType<YamlMappingNode>(child) : null;

    public static IReadOnlyList<YamlNode> Seq(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? Assert.IsType<YamlSequenceNode>(child).Children.ToList() : [];

    public static IReadOnlyList<YamlMappingNode> Maps(YamlMappingNode node, string key) => Seq(node, key).Cast<YamlMappingNode>().ToList();

    public static string? Str(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? Assert.IsType<YamlScalarNode>(child).Value : null;

    /// <summary>A mapping of scalars (labels, selectors, ConfigMap data).</summary>
    public static Dictionary<string, string> Scalars(YamlMappingNode node) =>
        node.Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value ?? "", StringComparer.Ordinal);
}
