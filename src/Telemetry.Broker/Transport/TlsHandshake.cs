using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;

namespace Telemetry.Broker.Transport;

/// <summary>A completed TLS handshake: the decrypted stream, and the device certificate when one was presented and verified.</summary>
public sealed record TlsSession(SslStream Stream, X509Certificate2? ClientCertificate, string? Identity);

/// <summary>
/// The server side of the TLS listener's handshake (<c>Broker:Tls</c>): TLS 1.2 and 1.3 only, the certificate read
/// from its PEM files (again after they change), client certificates verified against the configured CAs and deny
/// list, and a deadline. Every handshake is counted in <c>telemetry_tls_handshakes_total</c> by result and, when
/// refused, reason; refusals are logged, throttled by reason.
/// </summary>
public sealed class TlsHandshake(IOptions<BrokerOptions> options, IMeterFactory meterFactory, ILogger<TlsHandshake> logger)
{
    readonly Meter meter = meterFactory.Create(TelemetryMetrics.MeterName);
    readonly LogThrottle refusedLog = new(TimeSpan.FromSeconds(10), TimeProvider.System);
    Counter<long>? handshakes;
    Counter<long>? reloads;
    ReloadingFiles<SslStreamCertificateContext>? serverCertificate;
    ReloadingFiles<ClientCertificateTrust>? clientTrust;

    BrokerTlsOptions Tls => options.Value.Tls;

    /// <summary>Loads the certificate, key, CA bundle and deny list (already validated at start by <see cref="ListenerOptionsValidator"/>).</summary>
    public void Start()
    {
        var tls = Tls;
        handshakes ??= meter.CreateCounter<long>("telemetry.tls.handshakes", "{handshake}",
            "TLS handshakes on the broker's TLS listener, by result (accepted, refused) and refusal reason");
        reloads ??= meter.CreateCounter<long>("telemetry.tls.reloads", "{reload}",
            "Reloads of the TLS listener's files after they changed, by file (server_certificate, client_trust) and result (loaded, failed)");
        serverCertificate = new ReloadingFiles<SslStreamCertificateContext>(
            [tls.CertificateFile, tls.KeyFile],
            () => ServerCertificateSource.Load(tls.CertificateFile!, tls.KeyFile!),
            context =>
            {
                Reloaded("server_certificate", "loaded");
                logger.LogInformation("TLS listener: loaded the new server certificate {Subject} (SHA-256 {Fingerprint}) from {CertificateFile}",
                    context.TargetCertificate.Subject, ServerCertificateSource.Fingerprint(context), tls.CertificateFile);
            },
            error =>
            {
                Reloaded("server_certificate", "failed");
                logger.LogError("TLS listener: {CertificateFile} or {KeyFile} changed but cannot be loaded ({Error}); still serving the previous certificate",
                    tls.CertificateFile, tls.KeyFile, error.Message);
            });
        logger.LogInformation("TLS listener certificate {Subject} (SHA-256 {Fingerprint}), valid until {NotAfter:u}",
            serverCertificate.Current.TargetCertificate.Subject, ServerCertificateSource.Fingerprint(serverCertificate.Current),
            serverCertificate.Current.TargetCertificate.NotAfter.ToUniversalTime());

        if (tls.ClientCertificates != ClientCertificateMode.None)
        {
            clientTrust = new ReloadingFiles<ClientCertificateTrust>(
                [tls.ClientCaFile, tls.DeniedCertificatesFile, tls.RevocationListFile],
                () => ClientCertificateTrust.Load(tls.ClientCaFile!, tls.DeniedCertificates, tls.DeniedCertificatesFile, tls.RevocationListFile),
                trust =>
                {
                    Reloaded("client_trust", "loaded");
                    logger.LogInformation("TLS listener: reloaded the device CAs ({Authorities} certificates), deny list ({Denied} entries) and revocation list ({Revoked} serials)",
                        trust.AuthorityCount, trust.DeniedCount, trust.RevokedCount);
                },
                error =>
                {
                    Reloaded("client_trust", "failed");
                    logger.LogError("TLS listener: {ClientCaFile}, {DeniedFile} or {RevocationListFile} changed but cannot be loaded ({Error}); still using the previous CAs, deny list and revocation list",
                        tls.ClientCaFile, tls.DeniedCertificatesFile, tls.RevocationListFile, error.Message);
                });
            logger.LogInformation("TLS listener: device certificates {Mode}, identity from the {IdentityFrom}, {Authorities} CA certificates, {Denied} denied, {Revoked} revoked",
                tls.ClientCertificates, tls.IdentityFrom, clientTrust.Current.AuthorityCount, clientTrust.Current.DeniedCount, clientTrust.Current.RevokedCount);
        }
    }

    void Reloaded(string file, string result) =>
        reloads!.Add(1, new KeyValuePair<string, object?>("file", file), new KeyValuePair<string, object?>("result", result));

    /// <summary>
    /// Runs the handshake over <paramref name="network"/>. Null when it failed or was refused (counted and logged
    /// here); the caller then closes the connection. Never throws for what a client can cause.
    /// </summary>
    public async Task<TlsSession?> AuthenticateAsync(Stream network, EndPoint? remote)
    {
        ArgumentNullException.ThrowIfNull(network);
        var tls = Tls;
        var mode = tls.ClientCertificates;
        var trust = clientTrust?.Current;
        string? refusal = null;
        string? refusalDetail = null;
        X509Certificate2? verified = null;
        string? identity = null;

        bool Validate(X509Certificate? certificate, X509Chain? chain)
        {
            if (mode == ClientCertificateMode.None)
            {
                return true; // not asked for, not used
            }

            if (certificate is null)
            {
                refusal = mode == ClientCertificateMode.Required ? "no_client_certificate" : null;
                return refusal is null;
            }

            var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            var others = chain?.ChainElements.Skip(1).Select(e => e.Certificate) ?? [];
            refusal = trust!.Refusal(presented, others);
            if (refusal is null)
            {
                identity = CertificateIdentity.Of(presented, tls.IdentityFrom, tls.IdentityPrefix);
                refusal = identity is null ? "no_identity" : null;
            }

            if (refusal is not null)
            {
                presented.Dispose();
                return false;
            }

            verified = presented;
            return true;
        }

        var ssl = new SslStream(network, leaveInnerStreamOpen: false);
        var authentication = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = (serverCertificate ?? throw new InvalidOperationException("not started")).Current,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            EncryptionPolicy = EncryptionPolicy.RequireEncryption,
            ClientCertificateRequired = mode != ClientCertificateMode.None,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck, // the CRL file and deny list, in ClientCertificateTrust
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                try
                {
                    return Validate(certificate, chain);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // A certificate that breaks a parser is refused with a reason; an exception escaping the callback
                    // would escape the handshake too (not an AuthenticationException) and leave the socket to the GC.
                    refusal = "certificate_unreadable";
                    refusalDetail = ex.Message;
                    verified?.Dispose();
                    verified = null;
                    return false;
                }
            },
        };

        using var deadline = new CancellationTokenSource(tls.HandshakeTimeout);
        // Closing the socket also ends a handshake stuck where the cancellation token is not looked at.
        await using var closeAtDeadline = deadline.Token.Register(() => network.Dispose());
        try
        {
            await ssl.AuthenticateAsServerAsync(authentication, deadline.Token);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or ObjectDisposedException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            var reason = deadline.IsCancellationRequested ? "handshake_timeout" : refusal ?? "handshake_failed";
            Refused(reason, remote, refusalDetail ?? ex.Message, identity);
            verified?.Dispose();
            await ssl.DisposeAsync();
            return null;
        }

        handshakes!.Add(1, new KeyValuePair<string, object?>("result", "accepted"));
        logger.LogDebug("TLS {Protocol} connection from {RemoteEndPoint}{Identity}", ssl.SslProtocol, remote,
            identity is null ? "" : $" with the device certificate of '{Text.ForLog(identity)}'");
        return new TlsSession(ssl, verified, identity);
    }

    void Refused(string reason, EndPoint? remote, string detail, string? identity)
    {
        handshakes!.Add(1, new KeyValuePair<string, object?>("result", "refused"), new KeyValuePair<string, object?>("reason", reason));
        if (refusedLog.ShouldLog(reason, out var suppressed))
        {
            logger.LogWarning("Refused the TLS handshake of {RemoteEndPoint}: {Reason}{Identity} ({Detail}); {Suppressed} more refused for this reason since the last line",
                remote, reason, identity is null ? "" : $" (certificate of '{Text.ForLog(identity)}')", Text.ForLog(detail), suppressed);
        }
    }
}
