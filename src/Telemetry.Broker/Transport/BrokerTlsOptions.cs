namespace Telemetry.Broker.Transport;

/// <summary>
/// MQTT over TLS on the broker's own listener (configuration section <c>Broker:Tls</c>):
/// <code>
/// "Tls": {
///   "Enabled": false,
///   "Host": null,                        // the address to listen on; null: the same as Broker:Host
///   "Port": 8883,
///   "CertificateFile": "certs/server.crt",  // PEM: the server certificate, then any intermediates
///   "KeyFile": "certs/server.key",          // PEM: its private key (unencrypted; keep it chmod 600)
///   "ClientCertificates": "None",        // None | Optional | Required: mutual TLS, the certificate as device identity
///   "ClientCaFile": "certs/ca.crt",      // PEM bundle of the CAs that issue device certificates
///   "DeniedCertificates": [ "AB:CD:…" ], // revoked device certificates: SHA-256 fingerprints or serial numbers (hex)
///   "DeniedCertificatesFile": null,      // the same, one a line, in a file reloaded without restart
///   "RevocationListFile": null,          // the CA's CRL (PEM or DER), signature checked, reloaded without restart
///   "IdentityFrom": "CommonName",        // CommonName | SanUri: where the device identity is read from
///   "IdentityPrefix": null,              // SanUri only: stripped from the URI, e.g. "urn:campus:sensor:"; a URI without it names nobody
///   "HandshakeTimeout": "00:00:10"
/// }
/// </code>
/// The certificate, key, CA bundle, deny-list file and revocation list are read again when they change (checked at each handshake);
/// a change that cannot be loaded keeps the previous one, logged and counted. Paths are relative to the working
/// directory. All of it is validated at start by <see cref="ListenerOptionsValidator"/>.
/// </summary>
public sealed class BrokerTlsOptions
{
    /// <summary>Whether the TLS listener runs.</summary>
    public bool Enabled { get; set; }

    /// <summary>Address of the TLS listener; unset: <c>Broker:Host</c>.</summary>
    public string? Host { get; set; }

    /// <summary>Port of the TLS listener (MQTT over TLS: 8883).</summary>
    public int Port { get; set; } = 8883;

    /// <summary>PEM file of the server certificate (leaf first, then intermediates).</summary>
    public string? CertificateFile { get; set; }

    /// <summary>PEM file of the server certificate's private key (PKCS#8, PKCS#1 or SEC1, unencrypted).</summary>
    public string? KeyFile { get; set; }

    /// <summary>Whether devices present a certificate: None, Optional (verified when presented) or Required.</summary>
    public ClientCertificateMode ClientCertificates { get; set; } = ClientCertificateMode.None;

    /// <summary>PEM bundle of the certificate authorities device certificates must chain to (required unless ClientCertificates is None).</summary>
    public string? ClientCaFile { get; set; }

    /// <summary>
    /// Device certificates refused although their chain is valid (revoked): SHA-256 fingerprints (hex, colons
    /// optional, as <c>openssl x509 -fingerprint -sha256</c> prints them) or serial numbers (hex, as
    /// <c>openssl x509 -serial</c> prints them).
    /// </summary>
    public List<string> DeniedCertificates { get; set; } = [];

    /// <summary>A file with more entries like <see cref="DeniedCertificates"/>, one a line (<c>#</c> starts a comment); reloaded when it changes.</summary>
    public string? DeniedCertificatesFile { get; set; }

    /// <summary>
    /// A certificate revocation list (PEM or DER) of a CA in <see cref="ClientCaFile"/>; device certificates whose
    /// serial it lists are refused. Its signature is checked against that CA; reloaded when the file changes.
    /// </summary>
    public string? RevocationListFile { get; set; }

    /// <summary>Where the device identity is read from in a client certificate.</summary>
    public CertificateIdentitySource IdentityFrom { get; set; } = CertificateIdentitySource.CommonName;

    /// <summary>
    /// With <see cref="IdentityFrom"/> = SanUri: the prefix stripped from the SAN URI to give the identity (e.g.
    /// <c>urn:campus:sensor:</c>, so <c>urn:campus:sensor:freezer-1</c> is <c>freezer-1</c>); a URI without it names no
    /// identity (refused). Unset: the whole URI is the identity.
    /// </summary>
    public string? IdentityPrefix { get; set; }

    /// <summary>A connection that has not completed its TLS handshake by then is closed.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>The broker's plain (unencrypted) MQTT listener, section <c>Broker:Plain</c>; it listens on <c>Broker:Host</c>:<c>Broker:Port</c>.</summary>
public sealed class PlainListenerOptions
{
    /// <summary>False turns the plain listener off (a TLS-only broker).</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>Whether the TLS listener asks devices for a certificate.</summary>
public enum ClientCertificateMode
{
    /// <summary>No client certificates: TLS for confidentiality only, devices authenticate with username and password.</summary>
    None,
    /// <summary>A certificate is asked for; one that is presented must be valid, a connection without one continues.</summary>
    Optional,
    /// <summary>Every connection must present a valid certificate, or its handshake fails.</summary>
    Required,
}

/// <summary>Which name of a client certificate is the device identity.</summary>
public enum CertificateIdentitySource
{
    /// <summary>The subject's common name (CN).</summary>
    CommonName,
    /// <summary>The first URI in the subject alternative names.</summary>
    SanUri,
}
