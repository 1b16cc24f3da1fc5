using System.Globalization;
using Telemetry.Service.Cluster;
using YamlDotNet.RepresentationModel;
using static Telemetry.IntegrationTests.Deploy.KubernetesManifests;

namespace Telemetry.IntegrationTests.Deploy;

/// <summary>
/// The Kubernetes manifests of <c>deploy/k8s/</c> against the code: no cluster or kubectl is available here, so
/// the invariants that matter are checked on the parsed files — configuration keys the service really reads,
/// probes on its real endpoints, the spool on the pod's own volume, Services and budgets that select the pods.
/// </summary>
public sealed class KubernetesManifestTests
{
    /// <summary>A value the pod only has at run time (downward API, Secret): its conversion is not checked here.</summary>
    const string RuntimeValue = "${runtime}";

    readonly KubernetesManifests manifests = KubernetesManifests.Load();

    KubernetesObject StatefulSet => manifests.One("StatefulSet");

    YamlMappingNode PodSpec => Map(Map(Map(StatefulSet.Node, "spec"), "template"), "spec");

    YamlMappingNode Container => Assert.Single(Maps(PodSpec, "containers"));

    Dictionary<string, string> PodLabels => Scalars(Map(Map(Map(Map(StatefulSet.Node, "spec"), "template"), "metadata"), "labels"));

    [Fact]
    public void Manifests_HoldEveryPartOfTheCluster_AndKustomizeListsEveryFile()
    {
        foreach (var kind in new[] { "StatefulSet", "Job", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy", "Kustomization" })
        {
            Assert.Contains(manifests.Objects, o => o.Kind == kind);
        }

        Assert.Equal(3, manifests.Objects.Count(o => o.Kind == "Service"));
        var kustomization = manifests.One("Kustomization");
        var listed = Seq(kustomization.Node, "resources").Select(n => ((YamlScalarNode)n).Value).Order(StringComparer.Ordinal);
        var files = manifests.Objects.Select(o => o.File).Where(f => f != kustomization.File).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(files, listed);
    }

    [Fact]
    public void StatefulSet_RunsThreeNodes_GovernedByAHeadlessServiceOfTheSiloPort()
    {
        var spec = Map(StatefulSet.Node, "spec");
        var environment = NodeEnvironment();

        Assert.Equal("3", Str(spec, "replicas"));
        Assert.Contains(Str(spec, "podManagementPolicy"), new[] { "Parallel", "OrderedReady" });
        Assert.Equal(PodLabels, Scalars(Map(Map(spec, "selector"), "matchLabels")));

        var headless = manifests.Get("Service", Str(spec, "serviceName")!);
        Assert.Equal("None", Str(Map(headless.Node, "spec"), "clusterIP"));
        AssertSelects(Map(headless.Node, "spec"), "selector");
        var siloPort = environment.GetValueOrDefault("Orleans__SiloPort", new SiloOptions().SiloPort.ToString(CultureInfo.InvariantCulture));
        Assert.Contains(Maps(Map(headless.Node, "spec"), "ports"), p => Str(p, "port") == siloPort && ContainerPort(Str(p, "targetPort")!) == siloPort);
        Assert.Equal(siloPort, ContainerPort("silo"));
        Assert.Equal(environment.GetValueOrDefault("Orleans__GatewayPort", "30000"), ContainerPort("gateway"));
    }

    [Fact]
    public void NodeAndSchemaJob_NameOnlyRealConfigurationKeys_WithValuesTheServiceReads()
    {
        var node = NodeEnvironment();
        var job = Environment(Assert.Single(Maps(JobPodSpec(), "containers")));

        Assert.True(ServiceConfigurationKeys.Problems(node).Count == 0, string.Join("; ", ServiceConfigurationKeys.Problems(node)));
        Assert.True(ServiceConfigurationKeys.Problems(job).Count == 0, string.Join("; ", ServiceConfigurationKeys.Problems(job)));
        foreach (var key in new[] { "Urls", "Influx__Url", "Influx__Token", "Broker__Host", "Broker__CredentialsFile", "Campus__RegistryPath", "Spool__Path", "Orleans__Clustering", "Orleans__ConnectionString", "Api__Keys__0__Hash" })
        {
            Assert.True(node.ContainsKey(key), $"the node does not set {key}");
        }

        Assert.Equal("AdoNet", node["Orleans__Clustering"]);
        Assert.Equal("false", node["Broker__AllowAnonymous"]);
    }

    [Fact]
    public void Nodes_TakeAddressAndNameFromTheDownwardApi_AndEverySecretFromASecret()
    {
        var env = Maps(Container, "env").ToDictionary(e => Str(e, "name")!, StringComparer.Ordinal);

        Assert.Equal("status.podIP", FieldRef(env["Orleans__AdvertisedAddress"]));
        Assert.Equal("metadata.name", FieldRef(env["Orleans__NodeName"]));
        var connection = SecretRef(env["Orleans__ConnectionString"]);
        Assert.NotNull(connection);
        Assert.NotNull(SecretRef(env["Influx__Token"]));
        Assert.NotNull(SecretRef(env["Api__Keys__0__Hash"]));
        // The schema job reads the same database.
        Assert.Equal(connection, SecretRef(Assert.Single(Maps(Assert.Single(Maps(JobPodSpec(), "containers")), "env"), e => Str(e, "name") == "Orleans__ConnectionString")));

        // No secret-looking setting is written into a manifest, in the pod's env or in a ConfigMap it reads.
        string[] secretish = ["ConnectionString", "Token", "Password", "Hash", "Secret"];
        foreach (var (key, value) in NodeEnvironment())
        {
            if (secretish.Any(s => key.EndsWith(s, StringComparison.Ordinal)))
            {
                Assert.True(value == RuntimeValue, $"{key} is written into the manifests; it belongs in a Secret");
            }
        }

        Assert.DoesNotContain(manifests.Objects, o => o.Kind == "Secret");
    }

    [Fact]
    public void Probes_AskTheServicesHealthEndpoints_OnItsHttpPort()
    {
        var httpPort = new Uri(NodeEnvironment()["Urls"].Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)).Port.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(httpPort, ContainerPort("http"));

        foreach (var probe in new[] { "livenessProbe", "startupProbe" })
        {
            var get = Map(Map(Container, probe), "httpGet");
            Assert.Equal("/health/live", Str(get, "path"));
            Assert.Equal(httpPort, ContainerPort(Str(get, "port")!));
        }

        Assert.Contains($"http://127.0.0.1:{httpPort}/health/ready", ReadinessScript(), StringComparison.Ordinal);
    }

    [Fact]
    public void SpoolAndState_LiveOnThePodsOwnClaim_BigEnoughForTheSpool()
    {
        var environment = NodeEnvironment();
        var claims = Maps(Map(StatefulSet.Node, "spec"), "volumeClaimTemplates");
        var mounts = Maps(Container, "volumeMounts");

        foreach (var key in new[] { "Spool__Path", "Campus__StatePath" })
        {
            var mount = MountOf(environment[key]);
            Assert.Contains(claims, c => Str(Map(c, "metadata"), "name") == Str(mount, "name"));
        }

        var claim = Assert.Single(claims, c => Str(Map(c, "metadata"), "name") == Str(MountOf(environment["Spool__Path"]), "name"));
        Assert.Contains("ReadWriteOnce", Seq(Map(claim, "spec"), "accessModes").Select(n => ((YamlScalarNode)n).Value));
        var storage = Quantity(Str(Map(Map(Map(claim, "spec"), "resources"), "requests"), "storage")!);
        var spoolMax = long.Parse(environment.GetValueOrDefault("Spool__MaxBytes", "1073741824"), CultureInfo.InvariantCulture);
        // The spool may hold Spool:MaxBytes of readings and a tenth more of the grains' derived lines (docs/operations.md).
        Assert.True(storage >= spoolMax * 11 / 10, $"the claim ({storage} B) is smaller than 1.1 × Spool:MaxBytes ({spoolMax} B)");
        Assert.DoesNotContain(mounts, m => Str(m, "subPath") is not null);
    }

    [Fact]
    public void RegistryCredentialsAndCertificates_AreFilesOfMountedVolumes()
    {
        var environment = NodeEnvironment();
        var volumes = Maps(PodSpec, "volumes").ToDictionary(v => Str(v, "name")!, StringComparer.Ordinal);

        // The registry as a folder of a ConfigMap (no subPath), so that an update of the ConfigMap reaches the file.
        Assert.NotNull(TryMap(volumes[Str(MountOf(environment["Campus__RegistryPath"]), "name")!], "configMap"));
        Assert.NotNull(TryMap(volumes[Str(MountOf(environment["Broker__CredentialsFile"]), "name")!], "secret"));
        foreach (var key in new[] { "Broker__Tls__CertificateFile", "Broker__Tls__KeyFile", "Broker__Tls__ClientCaFile" })
        {
            Assert.NotNull(TryMap(volumes[Str(MountOf(environment[key]), "name")!], "secret"));
        }

        Assert.Equal(environment["Broker__Port"], ContainerPort("mqtt"));
        Assert.Equal(environment["Broker__Tls__Port"], ContainerPort("mqtts"));
    }

    [Fact]
    public void Services_ExposeMqttThroughALoadBalancer_AndHttpInsideTheCluster()
    {
        var mqtt = Map(manifests.Get("Service", "campus-telemetry-mqtt").Node, "spec");
        var http = Map(manifests.Get("Service", "campus-telemetry-http").Node, "spec");

        Assert.Equal("LoadBalancer", Str(mqtt, "type"));
        // Devices keep their own source address: the broker's per-address limits count per device, not per machine.
        Assert.Equal("Local", Str(mqtt, "externalTrafficPolicy"));
        AssertSelects(mqtt, "selector");
        var ports = Maps(mqtt, "ports");
        foreach (var (port, target) in new[] { ("1883", "mqtt"), ("8883", "mqtts") })
        {
            var entry = Assert.Single(ports, p => Str(p, "port") == port);
            Assert.Equal("TCP", Str(entry, "protocol"));
            Assert.Equal(ContainerPort(target), ContainerPort(Str(entry, "targetPort")!));
        }

        Assert.Equal("ClusterIP", Str(http, "type"));
        AssertSelects(http, "selector");
        Assert.Equal(ContainerPort("http"), ContainerPort(Str(Assert.Single(Maps(http, "ports")), "targetPort")!));
    }

    [Fact]
    public void SchemaJob_RunsTheServicesSchemaCommand_WithTheNodesImage()
    {
        var pod = JobPodSpec();
        var container = Assert.Single(Maps(pod, "containers"));

        Assert.Equal([ClusterSchema.Verb, "apply"], Seq(container, "args").Select(n => ((YamlScalarNode)n).Value));
        Assert.Equal(Str(Container, "image"), Str(container, "image"));
        Assert.Contains(Str(pod, "restartPolicy"), new[] { "OnFailure", "Never" });
    }

    [Fact]
    public void Disruptions_StopOneNodeAtATime_WithTimeToDrain()
    {
        var pdb = Map(manifests.One("PodDisruptionBudget").Node, "spec");
        Assert.Equal(PodLabels, Scalars(Map(Map(pdb, "selector"), "matchLabels")));
        var replicas = int.Parse(Str(Map(StatefulSet.Node, "spec"), "replicas")!, CultureInfo.InvariantCulture);
        var available = Str(pdb, "maxUnavailable") is { } max ? replicas - int.Parse(max, CultureInfo.InvariantCulture) : int.Parse(Str(pdb, "minAvailable")!, CultureInfo.InvariantCulture);
        Assert.True(available >= replicas - 1 && available >= 2, $"the budget lets {replicas - available} of {replicas} nodes go at once");

        // Longer than the host's own shutdown timeout (30 s): the kubelet must not SIGKILL a node that still drains.
        Assert.True(int.Parse(Str(PodSpec, "terminationGracePeriodSeconds")!, CultureInfo.InvariantCulture) >= 45);
    }

    [Fact]
    public void SiloAndGatewayPorts_AreOpenOnlyToTheNodesThemselves()
    {
        var policy = Map(manifests.One("NetworkPolicy").Node, "spec");
        Assert.Equal(PodLabels, Scalars(Map(Map(policy, "podSelector"), "matchLabels")));

        foreach (var rule in Maps(policy, "ingress"))
        {
            var ports = Maps(rule, "ports").Select(p => ContainerPort(Str(p, "port")!)).ToList();
            if (ports.Contains(ContainerPort("silo")) || ports.Contains(ContainerPort("gateway")))
            {
                var from = Assert.Single(Maps(rule, "from"));
                Assert.Equal(PodLabels, Scalars(Map(Map(from, "podSelector"), "matchLabels")));
            }
        }

        Assert.Contains(Maps(policy, "ingress"), r => Maps(r, "ports").Any(p => Str(p, "port") == "silo"));
    }

    /// <summary>The readiness probe's shell script (exec), as the kubelet runs it.</summary>
    public static string ReadinessScript(KubernetesManifests manifests)
    {
        var pod = Map(Map(Map(manifests.One("StatefulSet").Node, "spec"), "template"), "spec");
        var command = Seq(Map(Map(Assert.Single(Maps(pod, "containers")), "readinessProbe"), "exec"), "command").Select(n => ((YamlScalarNode)n).Value!).ToList();
        Assert.Equal(["/bin/sh", "-c"], command.Take(2));
        return command[2];
    }

    string ReadinessScript() => ReadinessScript(manifests);

    /// <summary>The node's environment as the kubelet builds it: the ConfigMaps of envFrom, then env (which wins).</summary>
    Dictionary<string, string> NodeEnvironment()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in Maps(Container, "envFrom"))
        {
            var name = Str(Map(source, "configMapRef"), "name")!;
            foreach (var (key, value) in Scalars(Map(manifests.Get("ConfigMap", name).Node, "data")))
            {
                environment[key] = value;
            }
        }

        foreach (var (key, value) in Environment(Container))
        {
            environment[key] = value;
        }

        return environment;
    }

    static Dictionary<string, string> Environment(YamlMappingNode container) =>
        Maps(container, "env").ToDictionary(e => Str(e, "name")!, e => Str(e, "value") ?? RuntimeValue, StringComparer.Ordinal);

    YamlMappingNode JobPodSpec() => Map(Map(Map(manifests.One("Job").Node, "spec"), "template"), "spec");

    /// <summary>The container port a Service or probe names (by name or number), as a number.</summary>
    string ContainerPort(string nameOrNumber)
    {
        if (int.TryParse(nameOrNumber, out _))
        {
            return nameOrNumber;
        }

        var port = Maps(Container, "ports").FirstOrDefault(p => Str(p, "name") == nameOrNumber)
                   ?? throw new Xunit.Sdk.XunitException($"the container has no port named '{nameOrNumber}'");
        return Str(port, "containerPort")!;
    }

    /// <summary>The volume mount a path lies under.</summary>
    YamlMappingNode MountOf(string path)
    {
        var mount = Maps(Container, "volumeMounts").FirstOrDefault(m => path.StartsWith(Str(m, "mountPath")!.TrimEnd('/') + "/", StringComparison.Ordinal));
        return mount ?? throw new Xunit.Sdk.XunitException($"{path} is on no volume of the pod (mounts: {string.Join(", ", Maps(Container, "volumeMounts").Select(m => Str(m, "mountPath")))})");
    }

    void AssertSelects(YamlMappingNode spec, string key)
    {
        var selector = Scalars(Map(spec, key));
        Assert.NotEmpty(selector);
        Assert.All(selector, s => Assert.Equal(s.Value, PodLabels.GetValueOrDefault(s.Key)));
    }

    static string? FieldRef(YamlMappingNode env) => TryMap(env, "valueFrom") is { } from && TryMap(from, "fieldRef") is { } field ? Str(field, "fieldPath") : null;

    static (string?, string?)? SecretRef(YamlMappingNode env) =>
        TryMap(env, "valueFrom") is { } from && TryMap(from, "secretKeyRef") is { } secret ? (Str(secret, "name"), Str(secret, "key")) : null;

    /// <summary>A Kubernetes quantity in bytes (Gi, Mi, G, M or plain).</summary>
    static long Quantity(string text)
    {
        (string Suffix, long Factor)[] units = [("Gi", 1L << 30), ("Mi", 1L << 20), ("Ki", 1L << 10), ("G", 1_000_000_000), ("M", 1_000_000), ("k", 1_000)];
        foreach (var (suffix, factor) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                return long.Parse(text[..^suffix.Length], CultureInfo.InvariantCulture) * factor;
            }
        }

        return long.Parse(text, CultureInfo.InvariantCulture);
    }
}
