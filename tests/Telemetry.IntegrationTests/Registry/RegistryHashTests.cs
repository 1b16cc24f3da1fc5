using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Telemetry.Domain.Campus;
using Telemetry.Service.Registry;

namespace Telemetry.IntegrationTests.Registry;

/// <summary>
/// The registry's identity that the nodes of a cluster compare: the SHA-256 of the file's bytes in force, as
/// <c>sha256sum</c> prints it; a refused edit leaves the hash of the registry still in force.
/// </summary>
public sealed class RegistryHashTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("telemetry-registry-hash-").FullName;

    string RegistryPath => Path.Combine(directory, "campus.yaml");

    static string Valid(string campusId) => $$"""
        campus: { id: {{campusId}} }
        kinds:
          t:
            interval: 60s
            metrics: { temperature: { unit: C } }
        buildings:
          - id: b
            rooms:
              - id: r
                sensors:
                  - { id: s1, kind: t }
        """;

    [Fact]
    public void The_hash_is_that_of_the_file_in_force_and_a_refused_edit_leaves_it()
    {
        File.WriteAllText(RegistryPath, Valid("v1"));
        var first = Sha256(RegistryPath);
        using var file = new CampusRegistryFile(RegistryPath, NullLogger.Instance, TimeSpan.FromHours(1), watch: false);
        Assert.Equal(first, file.Hash);
        Assert.Equal(first, RegistryHash.Of(file));

        File.WriteAllText(RegistryPath, Valid("v2") + "\n# a comment is a difference too\n");
        Assert.Equal(RegistryReloadOutcome.Reloaded, file.ReloadNow().Outcome);
        var second = Sha256(RegistryPath);
        Assert.NotEqual(first, second);
        Assert.Equal(second, file.Hash);

        File.WriteAllText(RegistryPath, "campus: { id: broken }\nkinds: { t: { interval: 0s } }\n");
        Assert.Equal(RegistryReloadOutcome.Refused, file.ReloadNow().Outcome);
        Assert.Equal(second, file.Hash);
    }

    [Fact]
    public void Without_a_registry_file_the_hash_is_none() =>
        Assert.Equal("none", RegistryHash.Of(new FixedCampusRegistrySource(CampusRegistry.Empty)));

    static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
