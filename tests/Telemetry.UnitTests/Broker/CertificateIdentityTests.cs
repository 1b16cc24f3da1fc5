using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Telemetry.Broker.Transport;

namespace Telemetry.UnitTests.Broker;

/// <summary>The device identity read from a client certificate: its CN, or its first SAN URI.</summary>
public sealed class CertificateIdentityTests
{
    static X509Certificate2 Certificate(string subject, params string[] sanUris) => Certificate(subject, sanUris, dnsNames: []);

    static X509Certificate2 Certificate(string subject, string[] sanUris, string[] dnsNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        if (sanUris.Length > 0 || dnsNames.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var dns in dnsNames)
            {
                san.AddDnsName(dns);
            }

            foreach (var uri in sanUris)
            {
                san.AddUri(new Uri(uri));
            }

            request.CertificateExtensions.Add(san.Build());
        }

        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    [Fact]
    public void The_common_name_is_the_identity()
    {
        using var certificate = Certificate("O=Campus Telemetry, CN=freezer-1");
        Assert.Equal("freezer-1", CertificateIdentity.Of(certificate, CertificateIdentitySource.CommonName));
    }

    [Fact]
    public void Without_a_common_name_there_is_no_identity()
    {
        using var certificate = Certificate("O=Campus Telemetry, OU=freezer-1");
        Assert.Null(CertificateIdentity.Of(certificate, CertificateIdentitySource.CommonName));
    }

    [Fact]
    public void Two_common_names_are_ambiguous_and_name_nobody()
    {
        using var certificate = Certificate("CN=freezer-1, CN=freezer-2");
        Assert.Null(CertificateIdentity.Of(certificate, CertificateIdentitySource.CommonName));
    }

    [Fact]
    public void The_first_san_uri_is_the_identity_and_other_names_before_it_are_skipped()
    {
        using var certificate = Certificate("CN=ignored", ["urn:campus:sensor:freezer-1", "urn:campus:sensor:other"], ["freezer-1.campus"]);
        Assert.Equal("urn:campus:sensor:freezer-1", CertificateIdentity.Of(certificate, CertificateIdentitySource.SanUri));
        Assert.Equal("ignored", CertificateIdentity.Of(certificate, CertificateIdentitySource.CommonName));
    }

    [Fact]
    public void Without_a_san_uri_there_is_no_identity_from_the_san()
    {
        using var onlyDns = Certificate("CN=freezer-1", [], ["freezer-1.campus"]);
        using var noSan = Certificate("CN=freezer-1");
        Assert.Null(CertificateIdentity.Of(onlyDns, CertificateIdentitySource.SanUri));
        Assert.Null(CertificateIdentity.Of(noSan, CertificateIdentitySource.SanUri));
    }

    [Theory]
    [InlineData("sha256 Fingerprint=ab:cd:01", "ABCD01")]
    [InlineData("serial=01AF", "01AF")]
    [InlineData(" AB CD ", null)]
    [InlineData("", null)]
    [InlineData("xyz", null)]
    public void Deny_list_entries_are_hex_as_openssl_prints_them(string entry, string? expected)
    {
        if (expected is null)
        {
            Assert.Throws<FormatException>(() => ClientCertificateTrust.NormaliseDenied(entry));
        }
        else
        {
            Assert.Equal(expected, ClientCertificateTrust.NormaliseDenied(entry));
        }
    }

    [Fact]
    public void The_identity_prefix_is_stripped_from_the_san_uri_and_a_uri_without_it_names_nobody()
    {
        using var device = Certificate("CN=ignored", "urn:campus:sensor:freezer-1");
        Assert.Equal("freezer-1", CertificateIdentity.Of(device, CertificateIdentitySource.SanUri, "urn:campus:sensor:"));
        Assert.Equal("urn:campus:sensor:freezer-1", CertificateIdentity.Of(device, CertificateIdentitySource.SanUri));
        using var foreign = Certificate("CN=ignored", "urn:other:freezer-1");
        Assert.Null(CertificateIdentity.Of(foreign, CertificateIdentitySource.SanUri, "urn:campus:sensor:"));
        using var bare = Certificate("CN=ignored", "urn:campus:sensor:");
        Assert.Null(CertificateIdentity.Of(bare, CertificateIdentitySource.SanUri, "urn:campus:sensor:"));
    }

    [Fact]
    public void An_identity_prefix_without_san_uri_is_a_configuration_error()
    {
        var options = new Telemetry.Broker.BrokerOptions();
        options.Tls.Enabled = true;
        options.Tls.IdentityPrefix = "urn:campus:sensor:";
        var result = new ListenerOptionsValidator().Validate(null, options);
        Assert.Contains(result.Failures ?? [], f => f.Contains("Broker:Tls:IdentityPrefix", StringComparison.Ordinal));
        options.Tls.IdentityFrom = CertificateIdentitySource.SanUri;
        Assert.DoesNotContain(new ListenerOptionsValidator().Validate(null, options).Failures ?? [], f => f.Contains("IdentityPrefix", StringComparison.Ordinal));
    }
}
