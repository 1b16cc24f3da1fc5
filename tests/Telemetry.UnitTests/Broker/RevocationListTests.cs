using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Telemetry.Broker.Transport;

namespace Telemetry.UnitTests.Broker;

/// <summary>Reading a CA's certificate revocation list: its serials, its issuer, its signature (RSA and ECDSA).</summary>
public sealed class RevocationListTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("telemetry-ut-crl-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    static X509Certificate2 Authority(bool rsa, string name)
    {
        using AsymmetricAlgorithm key = rsa ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = rsa
            ? new CertificateRequest($"CN={name}", (RSA)key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest($"CN={name}", (ECDsa)key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    static X509Certificate2 Device(X509Certificate2 authority, string name, byte serial)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var signer = authority.GetRSAPrivateKey() is { } rsa
            ? X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1)
            : X509SignatureGenerator.CreateForECDsa(authority.GetECDsaPrivateKey()!);
        return request.Create(authority.SubjectName, signer, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), [0x10, serial]);
    }

    string Crl(X509Certificate2 authority, bool pem, params X509Certificate2[] revoked)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var certificate in revoked)
        {
            builder.AddEntry(certificate);
        }

        var der = builder.Build(authority, 1, DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256,
            authority.GetRSAPublicKey() is null ? null : RSASignaturePadding.Pkcs1);
        var path = Path.Combine(folder, $"{Guid.NewGuid():N}.crl");
        if (pem)
        {
            File.WriteAllText(path, new string(PemEncoding.Write("X509 CRL", der)));
        }
        else
        {
            File.WriteAllBytes(path, der);
        }

        return path;
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void The_listed_serials_of_its_ca_are_revoked_and_no_others(bool rsa, bool pem)
    {
        using var ca = Authority(rsa, "Campus CA");
        using var revoked = Device(ca, "freezer-1", 1);
        using var good = Device(ca, "freezer-2", 2);
        var list = RevocationList.Load(Crl(ca, pem, revoked), [ca]);
        Assert.Equal(1, list.Count);
        Assert.True(list.Revokes(revoked));
        Assert.False(list.Revokes(good));
        Assert.NotNull(list.NextUpdate);
    }

    [Fact]
    public void The_same_serial_from_another_ca_is_not_revoked()
    {
        using var ca = Authority(rsa: false, "Campus CA");
        using var other = Authority(rsa: false, "Other CA");
        using var revoked = Device(ca, "freezer-1", 1);
        using var sameSerialElsewhere = Device(other, "freezer-1", 1);
        var list = RevocationList.Load(Crl(ca, pem: true, revoked), [ca, other]);
        Assert.False(list.Revokes(sameSerialElsewhere));
    }

    [Fact]
    public void A_list_whose_signature_does_not_verify_with_the_named_ca_is_refused()
    {
        using var ca = Authority(rsa: false, "Campus CA");
        using var impostor = Authority(rsa: false, "Campus CA"); // same name, other key
        using var device = Device(impostor, "freezer-1", 1);
        var error = Assert.Throws<InvalidDataException>(() => RevocationList.Load(Crl(impostor, pem: true, device), [ca]));
        Assert.Contains("does not verify", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_list_of_an_unknown_ca_or_not_a_list_at_all_is_refused()
    {
        using var ca = Authority(rsa: false, "Campus CA");
        using var other = Authority(rsa: false, "Other CA");
        Assert.Throws<InvalidDataException>(() => RevocationList.Load(Crl(other, pem: true), [ca]));
        var garbage = Path.Combine(folder, "garbage.crl");
        File.WriteAllText(garbage, "not a CRL");
        Assert.Throws<InvalidDataException>(() => RevocationList.Load(garbage, [ca]));
    }
}
