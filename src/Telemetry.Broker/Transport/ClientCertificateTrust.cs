using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Telemetry.Broker.Transport;

/// <summary>
/// What a device certificate is checked against: the CAs of <c>Broker:Tls:ClientCaFile</c> (and nothing from the
/// operating system's trust store) and the deny list (<c>Broker:Tls:DeniedCertificates</c> and
/// <c>Broker:Tls:DeniedCertificatesFile</c>).
/// </summary>
/// <remarks>
/// Revocation comes from the CA's CRL file (<c>Broker:Tls:RevocationListFile</c>, read by <see cref="RevocationList"/>)
/// and/or the deny list; nothing is fetched from the network (.NET's online revocation check would download CRLs
/// named in each device certificate while the device waits).
/// </remarks>
public sealed class ClientCertificateTrust
{
    const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2";

    readonly X509Certificate2Collection anchors;
    readonly X509Certificate2Collection intermediates;
    readonly HashSet<string> deniedFingerprints;
    readonly HashSet<string> deniedSerials;
    readonly RevocationList? revocations;

    ClientCertificateTrust(X509Certificate2Collection anchors, X509Certificate2Collection intermediates, IEnumerable<string> denied, RevocationList? revocations)
    {
        this.revocations = revocations;
        this.anchors = anchors;
        this.intermediates = intermediates;
        var entries = denied.ToList();
        deniedFingerprints = new HashSet<string>(entries, StringComparer.Ordinal);
        deniedSerials = new HashSet<string>(entries.Select(TrimZeros), StringComparer.Ordinal);
    }

    /// <summary>Certificates in the CA bundle (for log lines).</summary>
    public int AuthorityCount => anchors.Count + intermediates.Count;

    /// <summary>Entries of the deny list.</summary>
    public int DeniedCount => deniedFingerprints.Count;

    /// <summary>Serial numbers the revocation list revokes (0 without one).</summary>
    public int RevokedCount => revocations?.Count ?? 0;

    /// <summary>
    /// Reads the CA bundle, the deny list and the revocation list; throws when the bundle holds no certificate, an
    /// entry of the deny list is not hex, or the revocation list is not one of these CAs'. The same function checks
    /// them at start.
    /// </summary>
    public static ClientCertificateTrust Load(string caFile, IEnumerable<string> denied, string? deniedFile, string? revocationListFile)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPemFile(caFile);
        if (bundle.Count == 0)
        {
            throw new InvalidDataException($"{caFile} holds no PEM certificate");
        }

        var anchors = new X509Certificate2Collection();
        var intermediates = new X509Certificate2Collection();
        foreach (var certificate in bundle)
        {
            (certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData) ? anchors : intermediates).Add(certificate);
        }

        if (anchors.Count == 0)
        {
            throw new InvalidDataException($"{caFile} holds no root (self-signed) CA certificate");
        }

        var fromFile = deniedFile is null
            ? []
            : File.ReadLines(deniedFile).Select(line => line.Split('#')[0].Trim()).Where(line => line.Length > 0);
        var revocations = revocationListFile is null ? null : RevocationList.Load(revocationListFile, bundle);
        return new ClientCertificateTrust(anchors, intermediates, [.. denied.Concat(fromFile).Select(NormaliseDenied)], revocations);
    }

    /// <summary>
    /// A deny-list entry as compared: hex digits only, upper case; accepts what openssl prints
    /// (<c>sha256 Fingerprint=AB:CD:…</c>, <c>serial=01AB…</c>). Throws <see cref="FormatException"/> for anything else.
    /// </summary>
    public static string NormaliseDenied(string entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var value = entry[(entry.LastIndexOf('=') + 1)..].Replace(":", "", StringComparison.Ordinal).Trim().ToUpperInvariant();
        if (value.Length == 0 || !value.All(char.IsAsciiHexDigit))
        {
            throw new FormatException($"'{entry}' is neither a SHA-256 fingerprint nor a serial number in hex");
        }

        return value;
    }

    /// <summary>
    /// Why <paramref name="certificate"/> is not a valid device certificate (a fixed reason for metrics and logs),
    /// or null when its chain ends at one of the configured CAs, it is valid now and for client authentication, and
    /// it is not denied. <paramref name="presented"/>: other certificates the client sent (intermediates).
    /// </summary>
    public string? Refusal(X509Certificate2 certificate, IEnumerable<X509Certificate2> presented)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(presented);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
        chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        foreach (var extra in presented)
        {
            chain.ChainPolicy.ExtraStore.Add(extra);
        }

        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // the revocation and deny lists below
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthenticationOid));
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (!chain.Build(certificate))
        {
            var status = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
            return status.HasFlag(X509ChainStatusFlags.NotTimeValid) ? "certificate_expired"
                : status.HasFlag(X509ChainStatusFlags.NotValidForUsage) ? "certificate_not_for_clients"
                : "certificate_untrusted";
        }

        if (revocations?.Revokes(certificate) == true)
        {
            return "certificate_revoked";
        }

        var fingerprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        return deniedFingerprints.Contains(fingerprint) || deniedSerials.Contains(TrimZeros(certificate.SerialNumber.ToUpperInvariant()))
            ? "certificate_denied"
            : null;
    }

    static string TrimZeros(string hex)
    {
        var trimmed = hex.TrimStart('0');
        return trimmed.Length == 0 ? "0" : trimmed;
    }
}
