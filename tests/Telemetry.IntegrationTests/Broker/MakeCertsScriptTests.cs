using System.Security.Cryptography.X509Certificates;
using Telemetry.IntegrationTests.Deploy;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>deploy/make-certs.sh: what it makes, that a second run keeps it, that keys are private and not in git.</summary>
public sealed class MakeCertsScriptTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task It_makes_a_ca_a_server_and_device_certificates_and_a_second_run_keeps_them()
    {
        var folder = Directory.CreateTempSubdirectory("telemetry-it-certs-").FullName;
        try
        {
            await TlsCertificates.RunScriptAsync(folder, Ct, "-s", "broker.campus.example", "-s", "10.20.30.40", "-u", "urn:campus:sensor:", "freezer-1");
            // ca.srl is openssl's serial counter: it moves on with each certificate signed, the rest must not change.
            var before = Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
                .Where(f => !f.EndsWith("ca.srl", StringComparison.Ordinal)).ToDictionary(f => f, File.ReadAllBytes);

            // Again, with one more device: what exists is kept, the new device is added.
            await TlsCertificates.RunScriptAsync(folder, Ct, "freezer-1", "freezer-2");
            foreach (var (file, bytes) in before)
            {
                Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(file)), $"{file} changed on the second run");
            }

            Assert.True(File.Exists(Path.Combine(folder, "devices", "freezer-2.crt")));

            foreach (var key in Directory.GetFiles(folder, "*.key", SearchOption.AllDirectories))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            }

            using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(folder, "ca.crt"));
            using var server = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(folder, "server.crt"));
            using var device = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(folder, "devices", "freezer-1.crt"));
            var san = Assert.IsType<X509SubjectAlternativeNameExtension>(server.Extensions["2.5.29.17"], exactMatch: false);
            Assert.Equal(["localhost", "broker.campus.example"], san.EnumerateDnsNames());
            Assert.Contains(san.EnumerateIPAddresses(), ip => ip.ToString() == "10.20.30.40");
            Assert.Contains(san.EnumerateIPAddresses(), ip => ip.ToString() == "127.0.0.1");
            Assert.Equal("freezer-1", Telemetry.Broker.Transport.CertificateIdentity.Of(device, Telemetry.Broker.Transport.CertificateIdentitySource.CommonName));
            Assert.Equal("urn:campus:sensor:freezer-1", Telemetry.Broker.Transport.CertificateIdentity.Of(device, Telemetry.Broker.Transport.CertificateIdentitySource.SanUri));
            Assert.Equal(ca.Subject, device.Issuer);
            Assert.Equal(ca.Subject, server.Issuer);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task The_default_output_folder_is_ignored_by_git()
    {
        var result = await Tool.RunAsync("git", ["-C", ComposeFile.FindRepositoryRoot(), "check-ignore", "-q", "deploy/certs/ca.key"], Ct);
        Assert.True(result.ExitCode == 0, $"deploy/certs/ is not git-ignored: git check-ignore exited {result.ExitCode} {result.Output}");
    }
}
