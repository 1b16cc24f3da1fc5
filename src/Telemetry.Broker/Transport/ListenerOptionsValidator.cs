using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace Telemetry.Broker.Transport;

/// <summary>
/// The one check of the broker's listener settings (<c>Broker:Plain</c>, <c>Broker:Tls</c>) at start: every problem
/// is listed with the key to fix, and the certificate, key, CA bundle and deny list are loaded with the same functions
/// the listener uses, so whatever passes here is what the listener runs with.
/// </summary>
public sealed class ListenerOptionsValidator : IValidateOptions<BrokerOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = Problems(options).ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    static IEnumerable<string> Problems(BrokerOptions broker)
    {
        var tls = broker.Tls;
        if (!broker.Plain.Enabled && !tls.Enabled)
        {
            yield return "Broker:Plain:Enabled and Broker:Tls:Enabled are both false: the broker would not listen at all";
        }

        if (!tls.Enabled)
        {
            yield break;
        }

        if (tls.Port is < 1 or > 65535)
        {
            yield return $"Broker:Tls:Port must be between 1 and 65535 (is {tls.Port})";
        }

        if (!string.IsNullOrWhiteSpace(tls.Host) && !IPAddress.TryParse(tls.Host, out _) && tls.Host is not ("localhost" or "*"))
        {
            yield return $"Broker:Tls:Host must be an IP address, 'localhost' or '*' (is '{tls.Host}')";
        }
        else if (broker.Plain.Enabled && tls.Port == broker.Port && Equals(broker.TlsListenAddress(), broker.ListenAddress()))
        {
            yield return $"Broker:Tls:Port and Broker:Port are both {tls.Port} on the same address: give the TLS listener its own port (8883) or set Broker:Plain:Enabled=false";
        }

        if (tls.HandshakeTimeout <= TimeSpan.Zero)
        {
            yield return $"Broker:Tls:HandshakeTimeout must be greater than zero (is {tls.HandshakeTimeout})";
        }

        if (!Enum.IsDefined(tls.ClientCertificates))
        {
            yield return "Broker:Tls:ClientCertificates must be None, Optional or Required";
        }

        if (!Enum.IsDefined(tls.IdentityFrom))
        {
            yield return "Broker:Tls:IdentityFrom must be CommonName or SanUri";
        }

        if (tls.IdentityPrefix is not null && (tls.IdentityPrefix.Length == 0 || tls.IdentityFrom != CertificateIdentitySource.SanUri))
        {
            yield return $"Broker:Tls:IdentityPrefix ('{tls.IdentityPrefix}') needs Broker:Tls:IdentityFrom=SanUri and must not be empty: it is stripped from the SAN URI to give the device identity";
        }

        var certificateOk = true;
        foreach (var (key, path) in new[] { ("Broker:Tls:CertificateFile", tls.CertificateFile), ("Broker:Tls:KeyFile", tls.KeyFile) })
        {
            if (Missing(key, path) is { } missing)
            {
                certificateOk = false;
                yield return missing;
            }
        }

        if (certificateOk && Loads(() => ServerCertificateSource.Load(tls.CertificateFile!, tls.KeyFile!)) is { } certificateError)
        {
            yield return $"Broker:Tls:CertificateFile ({tls.CertificateFile}) and Broker:Tls:KeyFile ({tls.KeyFile}) cannot be used as the TLS certificate: {certificateError}";
        }

        if (tls.ClientCertificates == ClientCertificateMode.None)
        {
            yield break;
        }

        var trustOk = true;
        if (Missing("Broker:Tls:ClientCaFile", tls.ClientCaFile) is { } noCa)
        {
            trustOk = false;
            yield return $"{noCa} (needed because Broker:Tls:ClientCertificates is {tls.ClientCertificates})";
        }

        if (tls.DeniedCertificatesFile is not null && !File.Exists(tls.DeniedCertificatesFile))
        {
            trustOk = false;
            yield return $"Broker:Tls:DeniedCertificatesFile: {tls.DeniedCertificatesFile} does not exist";
        }

        if (tls.RevocationListFile is not null && !File.Exists(tls.RevocationListFile))
        {
            trustOk = false;
            yield return $"Broker:Tls:RevocationListFile: {tls.RevocationListFile} does not exist";
        }

        foreach (var entry in tls.DeniedCertificates)
        {
            if (Loads(() => ClientCertificateTrust.NormaliseDenied(entry)) is { } bad)
            {
                trustOk = false;
                yield return $"Broker:Tls:DeniedCertificates: {bad}";
            }
        }

        if (trustOk && Loads(() => ClientCertificateTrust.Load(tls.ClientCaFile!, tls.DeniedCertificates, tls.DeniedCertificatesFile, tls.RevocationListFile)) is { } trustError)
        {
            yield return $"Broker:Tls:ClientCaFile ({tls.ClientCaFile}), Broker:Tls:DeniedCertificatesFile or Broker:Tls:RevocationListFile cannot be used: {trustError}";
        }
    }

    static string? Missing(string key, string? path) =>
        string.IsNullOrWhiteSpace(path) ? $"{key} must name a PEM file when Broker:Tls:Enabled is true"
        : !File.Exists(path) ? $"{key}: {path} does not exist (relative paths are read from the working directory, {Environment.CurrentDirectory})"
        : null;

    static string? Loads(Func<object> load)
    {
        try
        {
            _ = load();
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or FormatException or InvalidDataException)
        {
            return ex.Message;
        }
    }
}
