using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using Telemetry.Domain.Ingest;

namespace Telemetry.Service.Security;

/// <summary>The one check of the <c>Api</c> section: at start (errors stop the start) and at every reload of the keys.</summary>
public static class ApiSettings
{
    /// <summary>Everything wrong with <paramref name="options"/>, each naming its key; empty when the section is usable.</summary>
    public static IReadOnlyList<string> Problems(ApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            var at = $"Api:Keys:{i}";
            if (ApiKeys.NameProblem(key.Name) is { } nameProblem)
            {
                problems.Add($"{at}:Name: {nameProblem}");
            }
            else if (!names.Add(key.Name!))
            {
                problems.Add($"{at}:Name: '{key.Name}' is the name of another key too; names say who acknowledged an alert, so each must be unique");
            }

            if (!ApiRoles.IsRole(key.Role))
            {
                problems.Add($"{at}:Role: must be one of {string.Join(", ", ApiRoles.All)}, not '{Text.Visible(key.Role ?? "")}'");
            }

            if (ApiKeys.ParseHash(key.Hash) is null)
            {
                problems.Add($"{at}:Hash: must be sha256: followed by 64 hex digits (the hash, never the key itself); create a key with `Telemetry.Service api-key new <name> <role>`");
            }
            else if (!hashes.Add(key.Hash!))
            {
                problems.Add($"{at}:Hash: the same key is configured twice");
            }
        }

        var jwt = options.Jwt;
        var authority = !string.IsNullOrWhiteSpace(jwt.Authority);
        var keyFile = !string.IsNullOrWhiteSpace(jwt.SigningKeyFile);
        if (authority && keyFile)
        {
            problems.Add("Api:Jwt: set Authority (keys from the issuer's discovery document) or SigningKeyFile (a fixed public key), not both");
        }

        if (authority && !(Uri.TryCreate(jwt.Authority, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps))
        {
            problems.Add($"Api:Jwt:Authority: must be an absolute https URL (the issuer's signing keys are fetched from it), not '{jwt.Authority}'");
        }

        if (jwt.Enabled && string.IsNullOrWhiteSpace(jwt.Audience))
        {
            problems.Add("Api:Jwt:Audience: required with bearer tokens (the aud this service's tokens carry), or tokens meant for any other application would be accepted");
        }

        if (keyFile && string.IsNullOrWhiteSpace(jwt.Issuer))
        {
            problems.Add("Api:Jwt:Issuer: required with Api:Jwt:SigningKeyFile (the iss the tokens carry)");
        }

        if (string.IsNullOrWhiteSpace(jwt.RoleClaim))
        {
            problems.Add("Api:Jwt:RoleClaim: must name the claim that holds the roles (default roles)");
        }

        if (jwt.ClockSkew < TimeSpan.Zero || jwt.ClockSkew > TimeSpan.FromMinutes(10))
        {
            problems.Add($"Api:Jwt:ClockSkew: must be between 0 and 00:10:00, not {jwt.ClockSkew}");
        }

        return problems;
    }

    /// <summary>True when any way to authenticate is configured (a key or bearer tokens).</summary>
    public static bool AuthenticationConfigured(ApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Keys.Count > 0 || options.Jwt.Enabled;
    }

    /// <summary>
    /// The public key of <c>Api:Jwt:SigningKeyFile</c> (PEM, <c>BEGIN PUBLIC KEY</c>, RSA or EC); throws
    /// <see cref="InvalidOperationException"/> naming the key and the problem. A private key is refused: the service
    /// only checks signatures and must not hold what makes them.
    /// </summary>
    public static SecurityKey LoadSigningKey(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Api:Jwt:SigningKeyFile {path} cannot be read: {ex.Message}", ex);
        }

        if (!PemEncoding.TryFind(pem, out var fields))
        {
            throw new InvalidOperationException($"Api:Jwt:SigningKeyFile {path} holds no PEM block (expected -----BEGIN PUBLIC KEY-----)");
        }

        var label = pem[fields.Label];
        if (label != "PUBLIC KEY")
        {
            throw new InvalidOperationException(label.Contains("PRIVATE", StringComparison.Ordinal)
                ? $"Api:Jwt:SigningKeyFile {path} holds a private key; give the service only the public key (openssl pkey -in key.pem -pubout)"
                : $"Api:Jwt:SigningKeyFile {path} holds a {label}, not a PUBLIC KEY");
        }

        try
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return new RsaSecurityKey(rsa);
        }
        catch (CryptographicException)
        {
        }

        try
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            return new ECDsaSecurityKey(ec);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"Api:Jwt:SigningKeyFile {path} holds neither an RSA nor an EC public key", ex);
        }
    }
}
