using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Server;
using Telemetry.Broker;
using Telemetry.Broker.Transport;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>
/// The TLS listener's adapter on a real loopback socket, a .NET TLS client presenting a device certificate: the
/// verified certificate reaches the MQTT channel (where <c>ValidatingConnectionEventArgs.ClientCertificate</c> reads
/// it), the channel says it is secure, and the identity is read from the CN or the SAN URI as configured.
/// </summary>
public sealed class TlsChannelTests : IAsyncLifetime
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    TlsCertificates? certificates;

    TlsCertificates Certs => certificates!;

    public async ValueTask InitializeAsync() => certificates = await TlsCertificates.CreateAsync(Ct);

    public ValueTask DisposeAsync()
    {
        certificates?.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task With_optional_client_certificates_a_device_without_one_gets_a_secure_channel_without_a_certificate()
    {
        var (secure, certificate) = await ChannelOfAsync(ClientCertificateMode.Optional, CertificateIdentitySource.CommonName, device: null);
        Assert.True(secure);
        Assert.Null(certificate);
    }

    [Theory]
    [InlineData(CertificateIdentitySource.CommonName, TlsCertificates.Good)]
    [InlineData(CertificateIdentitySource.SanUri, TlsCertificates.UriPrefix + TlsCertificates.Good)]
    public async Task The_verified_device_certificate_reaches_the_mqtt_channel(CertificateIdentitySource from, string identity)
    {
        using var device = X509Certificate2.CreateFromPemFile(Certs.DeviceCertificate(TlsCertificates.Good), Certs.DeviceKey(TlsCertificates.Good));
        var (secure, certificate) = await ChannelOfAsync(ClientCertificateMode.Required, from, device);
        Assert.True(secure);
        Assert.NotNull(certificate);
        Assert.Equal(device.Thumbprint, certificate.Thumbprint);
        Assert.Equal(identity, CertificateIdentity.Of(certificate, from));
    }

    /// <summary>
    /// Starts the TLS listener's adapter, connects a .NET TLS client presenting <paramref name="device"/> (or none),
    /// and returns what the MQTT channel the adapter built says about the connection.
    /// </summary>
    async Task<(bool Secure, X509Certificate2? Certificate)> ChannelOfAsync(ClientCertificateMode mode, CertificateIdentitySource from, X509Certificate2? device)
    {
        var seen = new TaskCompletionSource<(bool, X509Certificate2?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var handshake = new TlsHandshake(Options.Create(new BrokerOptions
        {
            Tls = new BrokerTlsOptions
            {
                Enabled = true,
                CertificateFile = Certs.ServerCertificateFile,
                KeyFile = Certs.ServerKeyFile,
                ClientCertificates = mode,
                ClientCaFile = Certs.CaFile,
                IdentityFrom = from,
            },
        }), services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), NullLogger<TlsHandshake>.Instance);
        handshake.Start();
        var port = FreePort.Get();
        using var listener = new LimitedTcpServerAdapter(new IPEndPoint(IPAddress.Loopback, port), 16, 65536, (_, _) => { })
        {
            Tls = handshake,
            ClientHandler = adapter =>
            {
                seen.TrySetResult((adapter.IsSecureConnection, adapter.ClientCertificate));
                return release.Task;
            },
        };
        await listener.StartAsync(new MqttServerOptionsBuilder().Build(), MqttNetNullLogger.Instance);
        try
        {
            using var ca = X509CertificateLoader.LoadCertificateFromFile(Certs.CaFile);
            using var tcp = new TcpClient(AddressFamily.InterNetwork);
            await tcp.ConnectAsync(IPAddress.Loopback, port, Ct);
            await using var tls = new SslStream(tcp.GetStream());
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ClientCertificates = device is null ? null : [device],
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    CustomTrustStore = { ca },
                    RevocationMode = X509RevocationMode.NoCheck,
                },
            }, Ct);

            return await seen.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        }
        finally
        {
            release.TrySetResult();
            await listener.StopAsync();
        }
    }
}
