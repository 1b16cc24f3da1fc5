using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Telemetry.Broker.Transport;

/// <summary>The device identity a client certificate carries.</summary>
public static class CertificateIdentity
{
    const string CommonNameOid = "2.5.4.3";
    const string SubjectAltNameOid = "2.5.29.17";

    /// <summary>
    /// The identity <paramref name="from"/> names in <paramref name="certificate"/>: the subject's common name, or the
    /// first URI among its subject alternative names. Null when the certificate has no such name, when it is empty,
    /// or when the subject holds more than one common name (ambiguous: which one a CA checked is unknowable).
    /// </summary>
    /// <remarks>
    /// With <paramref name="sanUriPrefix"/> (<c>Broker:Tls:IdentityPrefix</c>, e.g. <c>urn:campus:sensor:</c>) and
    /// <see cref="CertificateIdentitySource.SanUri"/>, the identity is the rest of the URI after that prefix (compared
    /// ordinally), so that <c>urn:campus:sensor:freezer-1</c> publishes as <c>freezer-1</c>; a URI without the prefix
    /// names nobody.
    /// </remarks>
    public static string? Of(X509Certificate2 certificate, CertificateIdentitySource from, string? sanUriPrefix = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var name = from switch
        {
            CertificateIdentitySource.CommonName => CommonName(certificate.SubjectName),
            CertificateIdentitySource.SanUri => FirstSanUri(certificate),
            _ => throw new ArgumentOutOfRangeException(nameof(from), from, "unknown identity source"),
        };
        if (from == CertificateIdentitySource.SanUri && !string.IsNullOrEmpty(sanUriPrefix) && name is not null)
        {
            name = name.StartsWith(sanUriPrefix, StringComparison.Ordinal) ? name[sanUriPrefix.Length..] : null;
        }

        return string.IsNullOrEmpty(name) ? null : name;
    }

    static string? CommonName(X500DistinguishedName subject)
    {
        string? found = null;
        foreach (var rdn in subject.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.GetSingleElementType().Value == CommonNameOid)
            {
                if (found is not null)
                {
                    return null;
                }

                found = rdn.GetSingleElementValue();
            }
        }

        return found;
    }

    /// <remarks>
    /// Decoded by hand with <see cref="AsnReader"/>: .NET's <see cref="X509SubjectAlternativeNameExtension"/> enumerates
    /// DNS names and IP addresses only. GeneralNames ::= SEQUENCE OF GeneralName; a URI is
    /// <c>[6] IMPLICIT IA5String</c> (RFC 5280 §4.2.1.6).
    /// </remarks>
    static string? FirstSanUri(X509Certificate2 certificate)
    {
        if (certificate.Extensions[SubjectAltNameOid] is not { } extension)
        {
            return null;
        }

        try
        {
            var names = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
            var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
            while (names.HasData)
            {
                var tag = names.PeekTag();
                if (tag.HasSameClassAndValue(uriTag))
                {
                    return names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag);
                }

                names.ReadEncodedValue();
            }
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException)
        {
            return null; // a malformed extension names nobody
        }

        return null;
    }
}
