using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.IdentityModel.Tokens;
using Telemetry.Service.Security;

namespace Telemetry.UnitTests.Security;

/// <summary>The one check of the <c>Api</c> section, as bound from configuration.</summary>
public sealed class ApiSettingsTests
{
    static readonly string GoodHash = ApiKeys.Create("x", ApiRoles.Viewer).Hash;

    [Fact]
    public void AWellFormedSection_HasNoProblems()
    {
        var options = Bind(
            ("Api:Keys:0:Name", "grafana"), ("Api:Keys:0:Role", "viewer"), ("Api:Keys:0:Hash", GoodHash),
            ("Api:Keys:1:Name", "night shift"), ("Api:Keys:1:Role", "technician"), ("Api:Keys:1:Hash", ApiKeys.Create("y", "admin").Hash),
            ("Api:Jwt:Authority", "https://login.example.edu/realms/campus"), ("Api:Jwt:Audience", "campus-telemetry"));

        Assert.Empty(ApiSettings.Problems(options));
        Assert.Equal("roles", options.Jwt.RoleClaim);
    }

    [Theory]
    [InlineData("Api:Keys:0:Hash", "ctk_ONZkAwtsfSGrH9vNfhL2Kh2fTpTtSLEleJXAE_TyvU8", "Api:Keys:0:Hash: must be sha256:")]
    [InlineData("Api:Keys:0:Role", "operator", "Api:Keys:0:Role: must be one of viewer, technician, admin, not 'operator'")]
    [InlineData("Api:Keys:0:Name", "", "Api:Keys:0:Name: a key needs a name")]
    public void ABadKeyEntry_IsNamed(string key, string value, string expected)
    {
        var settings = new Dictionary<string, string?> { ["Api:Keys:0:Name"] = "grafana", ["Api:Keys:0:Role"] = "viewer", ["Api:Keys:0:Hash"] = GoodHash, [key] = value };

        var problems = ApiSettings.Problems(Bind([.. settings.Select(s => (s.Key, s.Value ?? ""))]));

        Assert.Contains(problems, p => p.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void TwoKeysWithOneName_OrOneHash_AreRefused()
    {
        var options = Bind(
            ("Api:Keys:0:Name", "alice"), ("Api:Keys:0:Role", "viewer"), ("Api:Keys:0:Hash", GoodHash),
            ("Api:Keys:1:Name", "ALICE"), ("Api:Keys:1:Role", "admin"), ("Api:Keys:1:Hash", GoodHash));

        var problems = ApiSettings.Problems(options);

        Assert.Contains(problems, p => p.StartsWith("Api:Keys:1:Name:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Api:Keys:1:Hash: the same key", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Api:Jwt:Authority", "http://login.example.edu", "Api:Jwt:Authority: must be an absolute https URL")]
    [InlineData("Api:Jwt:SigningKeyFile", "issuer.pem", "Api:Jwt:Issuer: required with Api:Jwt:SigningKeyFile")]
    public void ABadJwtSetting_IsNamed(string key, string value, string expected)
    {
        var problems = ApiSettings.Problems(Bind((key, value), ("Api:Jwt:Audience", "campus")));

        Assert.Contains(problems, p => p.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Jwt_WithoutAnAudience_OrWithBothKeySources_IsRefused()
    {
        Assert.Contains(ApiSettings.Problems(Bind(("Api:Jwt:Authority", "https://login.example.edu"))),
            p => p.StartsWith("Api:Jwt:Audience: required", StringComparison.Ordinal));
        Assert.Contains(ApiSettings.Problems(Bind(("Api:Jwt:Authority", "https://login.example.edu"), ("Api:Jwt:SigningKeyFile", "k.pem"), ("Api:Jwt:Issuer", "i"), ("Api:Jwt:Audience", "a"))),
            p => p.StartsWith("Api:Jwt: set Authority", StringComparison.Ordinal));
    }

    [Fact]
    public void TheSigningKeyFile_TakesAnRsaOrEcPublicKey_AndRefusesAPrivateKey()
    {
        var directory = Directory.CreateTempSubdirectory("telemetry-ut-jwt-").FullName;
        try
        {
            using var rsa = RSA.Create(2048);
            using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var rsaPublic = Write(directory, "rsa.pem", rsa.ExportSubjectPublicKeyInfoPem());
            var ecPublic = Write(directory, "ec.pem", ec.ExportSubjectPublicKeyInfoPem());
            var rsaPrivate = Write(directory, "private.pem", rsa.ExportPkcs8PrivateKeyPem());
            var empty = Write(directory, "empty.pem", "nothing here");

            Assert.IsType<RsaSecurityKey>(ApiSettings.LoadSigningKey(rsaPublic));
            Assert.IsType<ECDsaSecurityKey>(ApiSettings.LoadSigningKey(ecPublic));
            Assert.Contains("holds a private key", Assert.Throws<InvalidOperationException>(() => ApiSettings.LoadSigningKey(rsaPrivate)).Message, StringComparison.Ordinal);
            Assert.Contains("holds no PEM block", Assert.Throws<InvalidOperationException>(() => ApiSettings.LoadSigningKey(empty)).Message, StringComparison.Ordinal);
            Assert.Contains("cannot be read", Assert.Throws<InvalidOperationException>(() => ApiSettings.LoadSigningKey(Path.Combine(directory, "missing.pem"))).Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    static string Write(string directory, string name, string text)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    static ApiOptions Bind(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build()
            .GetSection(ApiOptions.SectionName).Get<ApiOptions>() ?? new ApiOptions();
}
