using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Service.Security;

namespace Telemetry.IntegrationTests.Security;

/// <summary>
/// The real service with its HTTP API secured: three API keys (viewer, technician, admin), bearer tokens signed by a
/// local RSA key (the issuer's public key given as <c>Api:Jwt:SigningKeyFile</c>), an HTTPS endpoint with a
/// certificate made here, and a small registry whose freezers raise a critical alert on any non-zero <c>fault</c>.
/// InfluxDB 1.6 behind it, as in production.
/// </summary>
public class ApiAuthFixture : IAsyncLifetime
{
    public const string CollectionName = "api-auth";
    public const string Issuer = "https://issuer.campus.test";
    public const string Audience = "campus-telemetry";
    public const string BuildingId = "b1";
    public const string RoomId = "lab";
    public static readonly string[] Freezers = ["frz-key-ack", "frz-key-clear", "frz-jwt-ack", "frz-viewer", "frz-header", "frz-page-a", "frz-page-b", "frz-online", "frz-open-window"];

    InfluxDbServer? influx;
    TelemetryServiceHost? service;
    string? directory;
    RSA? issuerKey;
    X509Certificate2? certificate;

    public NewApiKey Viewer { get; } = ApiKeys.Create("wallboard", ApiRoles.Viewer);

    public NewApiKey Technician { get; } = ApiKeys.Create("night shift", ApiRoles.Technician);

    public NewApiKey Admin { get; } = ApiKeys.Create("it admin", ApiRoles.Admin);

    public TelemetryServiceHost Service => service ?? throw new InvalidOperationException("not started");

    public string RegistryPath => Path.Combine(directory ?? throw new InvalidOperationException("not started"), "campus.yaml");

    public Uri HttpsUrl { get; private set; } = null!;

    public X509Certificate2 Certificate => certificate ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        try
        {
            directory = Directory.CreateTempSubdirectory("telemetry-it-apiauth-").FullName;
            await File.WriteAllTextAsync(RegistryPath, Registry(Freezers), ct);

            issuerKey = RSA.Create(2048);
            var publicKeyPath = Path.Combine(directory, "issuer-public.pem");
            await File.WriteAllTextAsync(publicKeyPath, issuerKey.ExportSubjectPublicKeyInfoPem(), ct);

            var (certPath, keyPath) = await WriteServerCertificateAsync(directory, ct);
            HttpsUrl = new Uri($"https://127.0.0.1:{FreePort.Get()}/");

            influx = await InfluxDbServer.StartAsync(ct);
            await influx.CreateDatabaseAsync("campus", ct);
            service = await TelemetryServiceHost.StartAsync(httpUrl =>
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus",
                $"--Campus:RegistryPath={RegistryPath}",
                .. SecuritySettings(httpUrl, publicKeyPath, certPath, keyPath),
            ], ct);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>The settings that secure the API: three keys, bearer tokens of the local issuer, and an HTTPS endpoint.</summary>
    protected virtual IEnumerable<string> SecuritySettings(Uri httpUrl, string publicKeyPath, string certPath, string keyPath) =>
    [
        .. Key(0, Viewer), .. Key(1, Technician), .. Key(2, Admin),
        $"--Api:Jwt:SigningKeyFile={publicKeyPath}",
        $"--Api:Jwt:Issuer={Issuer}",
        $"--Api:Jwt:Audience={Audience}",
        // Kestrel's endpoints replace Urls: the plain one is named again beside the HTTPS one.
        $"--Kestrel:Endpoints:Http:Url={httpUrl}",
        $"--Kestrel:Endpoints:Https:Url={HttpsUrl}",
        $"--Kestrel:Endpoints:Https:Certificate:Path={certPath}",
        $"--Kestrel:Endpoints:Https:Certificate:KeyPath={keyPath}",
    ];

    static IEnumerable<string> Key(int index, NewApiKey key) =>
        [$"--Api:Keys:{index}:Name={key.Name}", $"--Api:Keys:{index}:Role={key.Role}", $"--Api:Keys:{index}:Hash={key.Hash}"];

    /// <summary>A registry with one lab of freezers; <paramref name="sensors"/> are its sensor ids.</summary>
    public static string Registry(IEnumerable<string> sensors) => $$"""
        campus:
          id: auth-campus
          name: Auth test campus
          timezone: UTC
        unregistered: accept
        kinds:
          freezer:
            interval: 60s
            metrics:
              temperature: { unit: "°C" }
              fault: { unit: "code" }
            alerts:
              - { id: freezer-fault, type: fault-code, metric: fault, severity: critical }
        buildings:
          - id: {{BuildingId}}
            rooms:
              - id: {{RoomId}}
                sensors:
        {{string.Join("\n", sensors.Select(s => $"          - {{ id: {s}, kind: freezer }}"))}}

        """;

    /// <summary>A self-signed server certificate for 127.0.0.1 (PEM certificate and key files, as Kestrel reads them).</summary>
    async Task<(string CertPath, string KeyPath)> WriteServerCertificateAsync(string folder, CancellationToken ct)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=campus-telemetry test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, 0, critical: true));
        certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(folder, "server.crt");
        var keyPath = Path.Combine(folder, "server.key");
        await File.WriteAllTextAsync(certPath, certificate.ExportCertificatePem(), ct);
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem(), ct);
        return (certPath, keyPath);
    }

    /// <summary>A client of the HTTPS endpoint that trusts exactly the certificate made here (chain built against it, host name checked).</summary>
    public HttpClient HttpsClient()
    {
        var trusted = Certificate;
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, presented, _, errors) =>
                {
                    if (presented is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(trusted);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(X509CertificateLoader.LoadCertificate(presented.GetRawCertData()));
                },
            },
        };
        return new HttpClient(handler, disposeHandler: true) { BaseAddress = HttpsUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>A token of the configured issuer and audience (unless overridden), signed with the issuer's key unless another is given.</summary>
    public string Token(
        IReadOnlyDictionary<string, object> claims,
        DateTime? expires = null,
        string? audience = null,
        RSA? signWith = null)
    {
        var now = DateTime.UtcNow;
        var end = expires ?? now.AddMinutes(10);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience ?? Audience,
            IssuedAt = end.AddMinutes(-20),
            NotBefore = end.AddMinutes(-20),
            Expires = end,
            Claims = claims.ToDictionary(c => c.Key, c => c.Value),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(signWith ?? issuerKey ?? throw new InvalidOperationException("not started")), SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    /// <summary>A request with the key in <c>X-Api-Key</c> (or the <c>Authorization: ApiKey</c> header).</summary>
    public static HttpRequestMessage WithKey(HttpMethod method, string path, NewApiKey? key, object? body = null, bool authorizationHeader = false)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (key is not null)
        {
            if (authorizationHeader)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue(ApiKeyAuthenticationHandler.SchemeName, key.Key);
            }
            else
            {
                request.Headers.Add(ApiKeyAuthenticationHandler.HeaderName, key.Key);
            }
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return request;
    }

    /// <summary>Publishes a fault for <paramref name="sensor"/> and waits until its critical alert is active; returns the alert's id.</summary>
    public async Task<string> RaiseFaultAsync(string sensor, CancellationToken ct)
    {
        using var client = await Service.ConnectAsync($"{sensor}-device", cancellationToken: ct);
        await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"campus/{BuildingId}/{RoomId}/{sensor}/telemetry")
            .WithPayload("""{"temperature": -3.5, "fault": 7}""")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), ct);
        var alert = await Poll.UntilAsync(
            $"the fault alert of {sensor} to be active",
            async () =>
            {
                using var request = WithKey(HttpMethod.Get, "api/alerts", Viewer);
                using var response = await Service.Http.SendAsync(request, ct);
                response.EnsureSuccessStatusCode();
                return (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).EnumerateArray()
                    .FirstOrDefault(a => a.GetProperty("sensor").GetString() == sensor);
            },
            a => a.ValueKind == JsonValueKind.Object,
            within: TimeSpan.FromSeconds(60),
            cancellationToken: ct);
        return alert.GetProperty("id").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        await DisposeCoreAsync();
        GC.SuppressFinalize(this);
    }

    async Task DisposeCoreAsync()
    {
        if (service is not null)
        {
            await service.DisposeAsync();
            service = null;
        }

        if (influx is not null)
        {
            await influx.DisposeAsync();
            influx = null;
        }

        issuerKey?.Dispose();
        certificate?.Dispose();
        if (directory is not null)
        {
            TestServer.DeleteDirectory(directory);
            directory = null;
        }
    }
}

[CollectionDefinition(ApiAuthFixture.CollectionName)]
public sealed class ApiAuthCollection : ICollectionFixture<ApiAuthFixture>;

/// <summary>The same service and registry with nothing of the <c>Api</c> section configured, on loopback: the open demo API.</summary>
public sealed class OpenApiFixture : ApiAuthFixture
{
    public new const string CollectionName = "api-open";

    protected override IEnumerable<string> SecuritySettings(Uri httpUrl, string publicKeyPath, string certPath, string keyPath) => [];
}

[CollectionDefinition(OpenApiFixture.CollectionName)]
public sealed class OpenApiCollection : ICollectionFixture<OpenApiFixture>;
