using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Telemetry.Broker.Transport;

/// <summary>The TLS listener's certificate from <c>Broker:Tls:CertificateFile</c> and <c>Broker:Tls:KeyFile</c>, reloaded when either changes.</summary>
public static class ServerCertificateSource
{
    /// <summary>
    /// Reads the PEM files: the first certificate of <paramref name="certificateFile"/> with the key of
    /// <paramref name="keyFile"/>, the certificates after it sent as intermediates. Throws (CryptographicException,
    /// IOException, InvalidDataException) when they cannot be used; the same function checks them at start.
    /// </summary>
    public static SslStreamCertificateContext Load(string certificateFile, string keyFile)
    {
        var leaf = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        if (!leaf.HasPrivateKey)
        {
            throw new InvalidDataException($"{keyFile} holds no private key for the certificate in {certificateFile}");
        }

        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(certificateFile);
        var intermediates = new X509Certificate2Collection();
        foreach (var certificate in all.Skip(1))
        {
            intermediates.Add(certificate);
        }

        // offline: never fetch intermediates or OCSP responses from the network while serving devices.
        return SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
    }

    /// <summary>SHA-256 fingerprint (hex) of the certificate a context serves, for log lines.</summary>
    public static string Fingerprint(SslStreamCertificateContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.TargetCertificate.GetCertHashString(HashAlgorithmName.SHA256);
    }
}
