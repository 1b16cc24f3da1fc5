using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Telemetry.Broker.Transport;

/// <summary>
/// The serial numbers a CA's certificate revocation list (RFC 5280 §5, PEM or DER) revokes, after its signature was
/// checked against that CA's certificate.
/// </summary>
/// <remarks>
/// Read by hand with <see cref="AsnReader"/>: .NET can write CRLs (<see cref="CertificateRevocationListBuilder"/>) but
/// not read their entries, and on Linux its chain builder takes CRLs only from its own download cache, not from a file
/// (<see cref="X509ChainPolicy.ExtraStore"/> holds certificates only). Only what revocation needs is read: the issuer,
/// the revoked serial numbers and the signature (ECDSA or RSA PKCS#1 with SHA-256/384/512).
/// </remarks>
public sealed class RevocationList
{
    readonly byte[] issuer;
    readonly HashSet<BigInteger> serials;

    RevocationList(byte[] issuer, HashSet<BigInteger> serials, DateTimeOffset? nextUpdate)
    {
        this.issuer = issuer;
        this.serials = serials;
        NextUpdate = nextUpdate;
    }

    /// <summary>When the CA promised a newer list (null: not stated).</summary>
    public DateTimeOffset? NextUpdate { get; }

    public int Count => serials.Count;

    /// <summary>True when <paramref name="certificate"/> was issued by this list's CA and its serial is on the list.</summary>
    public bool Revokes(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.IssuerName.RawData.AsSpan().SequenceEqual(issuer)
            && serials.Contains(new BigInteger(certificate.SerialNumberBytes.Span, isUnsigned: false, isBigEndian: true));
    }

    /// <summary>
    /// Reads <paramref name="path"/> and checks its signature with the CA among <paramref name="authorities"/> that
    /// issued it. Throws <see cref="InvalidDataException"/> (malformed, unknown issuer, bad signature) or IOException.
    /// </summary>
    public static RevocationList Load(string path, X509Certificate2Collection authorities)
    {
        ArgumentNullException.ThrowIfNull(authorities);
        var bytes = File.ReadAllBytes(path);
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        var der = PemEncoding.TryFind(text, out var pem) && text[pem.Label] == "X509 CRL"
            ? Convert.FromBase64String(text[pem.Base64Data])
            : bytes;
        try
        {
            return Parse(der, authorities, path);
        }
        catch (AsnContentException ex)
        {
            throw new InvalidDataException($"{path} is not a certificate revocation list: {ex.Message}", ex);
        }
    }

    static RevocationList Parse(byte[] der, X509Certificate2Collection authorities, string path)
    {
        var list = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        var tbsBytes = list.PeekEncodedValue().ToArray();
        var tbs = list.ReadSequence();
        var algorithm = list.ReadSequence().ReadObjectIdentifier();
        var signature = list.ReadBitString(out _);

        if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            tbs.ReadInteger(); // version
        }

        tbs.ReadSequence(); // signature algorithm, repeated
        var issuer = tbs.ReadEncodedValue().ToArray();
        ReadTime(tbs); // thisUpdate
        DateTimeOffset? nextUpdate = tbs.HasData && IsTime(tbs.PeekTag()) ? ReadTime(tbs) : null;
        var serials = new HashSet<BigInteger>();
        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
        {
            var revoked = tbs.ReadSequence();
            while (revoked.HasData)
            {
                serials.Add(revoked.ReadSequence().ReadInteger());
            }
        }

        var authority = authorities.FirstOrDefault(ca => ca.SubjectName.RawData.AsSpan().SequenceEqual(issuer))
            ?? throw new InvalidDataException($"{path} was issued by {new X500DistinguishedName(issuer).Name}, which is not in Broker:Tls:ClientCaFile");
        if (!SignatureValid(authority, algorithm, tbsBytes, signature))
        {
            throw new InvalidDataException($"the signature of {path} does not verify with the certificate of {authority.Subject}");
        }

        return new RevocationList(issuer, serials, nextUpdate);
    }

    static bool IsTime(Asn1Tag tag) =>
        tag.HasSameClassAndValue(new Asn1Tag(UniversalTagNumber.UtcTime)) || tag.HasSameClassAndValue(new Asn1Tag(UniversalTagNumber.GeneralizedTime));

    static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(new Asn1Tag(UniversalTagNumber.UtcTime)) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();

    static bool SignatureValid(X509Certificate2 authority, string algorithm, byte[] signed, byte[] signature)
    {
        (HashAlgorithmName Hash, bool Ecdsa)? scheme = algorithm switch
        {
            "1.2.840.10045.4.3.2" => (HashAlgorithmName.SHA256, true),
            "1.2.840.10045.4.3.3" => (HashAlgorithmName.SHA384, true),
            "1.2.840.10045.4.3.4" => (HashAlgorithmName.SHA512, true),
            "1.2.840.113549.1.1.11" => (HashAlgorithmName.SHA256, false),
            "1.2.840.113549.1.1.12" => (HashAlgorithmName.SHA384, false),
            "1.2.840.113549.1.1.13" => (HashAlgorithmName.SHA512, false),
            _ => null,
        };
        if (scheme is not { } s)
        {
            throw new InvalidDataException($"the revocation list is signed with {algorithm}; supported: ECDSA and RSA PKCS#1 with SHA-256/384/512");
        }

        if (s.Ecdsa)
        {
            using var ecdsa = authority.GetECDsaPublicKey();
            return ecdsa is not null && ecdsa.VerifyData(signed, signature, s.Hash, DSASignatureFormat.Rfc3279DerSequence);
        }

        using var rsa = authority.GetRSAPublicKey();
        return rsa is not null && rsa.VerifyData(signed, signature, s.Hash, RSASignaturePadding.Pkcs1);
    }
}
