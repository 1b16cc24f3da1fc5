using System.Security.Cryptography;
using System.Text;
using Telemetry.Domain.Ingest;

namespace Telemetry.Service.Security;

/// <summary>A new API key: the key itself (shown once) and what goes into the configuration instead of it.</summary>
public sealed record NewApiKey(string Name, string Role, string Key, string Hash)
{
    /// <summary>The entry for the <c>Api:Keys</c> list of appsettings.json.</summary>
    public string JsonEntry() =>
        $$"""{ "Name": {{System.Text.Json.JsonSerializer.Serialize(Name)}}, "Role": "{{Role}}", "Hash": "{{Hash}}" }""";

    /// <summary>The same entry as environment variables, at list position <paramref name="index"/>.</summary>
    public IReadOnlyList<string> EnvironmentLines(int index) =>
    [
        $"Api__Keys__{index}__Name={Name}",
        $"Api__Keys__{index}__Role={Role}",
        $"Api__Keys__{index}__Hash={Hash}",
    ];
}

/// <summary>
/// API keys: made here, stored only as hashes, recognised by <see cref="ApiKeySet"/>.
/// </summary>
/// <remarks>
/// A key is <c>ctk_</c> followed by 32 random bytes in base64url (43 characters): 256 bits from the operating
/// system's CSPRNG. It is stored as <c>sha256:&lt;hex&gt;</c>, one SHA-256 of the whole key's UTF-8 text, deliberately
/// not a slow, salted password hash (PBKDF2): slow hashing and salts exist to make guessing a human-chosen password
/// from its hash expensive; a 256-bit random key cannot be guessed whatever the hash costs, so a slow hash would only
/// spend CPU on every request (and give an attacker sending made-up keys a cheap way to burn it). Only keys of exactly
/// this form are ever compared, so a short hand-made "key" whose SHA-256 someone put in the configuration can never
/// be used. The hash is also what <c>printf %s "$KEY" | sha256sum</c> prints, so operators can check a key by hand.
/// </remarks>
public static class ApiKeys
{
    public const string Prefix = "ctk_";
    public const string HashPrefix = "sha256:";
    const int RandomBytes = 32;

    /// <summary>Length of a key: the prefix and 43 base64url characters.</summary>
    public static readonly int KeyLength = Prefix.Length + 43;

    /// <summary>Longest key name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>A new random key for <paramref name="name"/> with <paramref name="role"/>; throws <see cref="ArgumentException"/> naming what is wrong with either.</summary>
    public static NewApiKey Create(string name, string role)
    {
        if (NameProblem(name) is { } nameProblem)
        {
            throw new ArgumentException(nameProblem, nameof(name));
        }

        if (!ApiRoles.IsRole(role))
        {
            throw new ArgumentException($"the role must be one of {string.Join(", ", ApiRoles.All)}, not '{Text.Visible(role ?? "")}'", nameof(role));
        }

        var key = Prefix + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(RandomBytes));
        return new NewApiKey(name, role, key, Hash(key));
    }

    /// <summary>The stored form of <paramref name="key"/>: <c>sha256:</c> and 64 lowercase hex digits.</summary>
    public static string Hash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return HashPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    /// <summary>The 32 hash bytes of a stored hash, or null when <paramref name="hash"/> is not <c>sha256:</c> and 64 hex digits.</summary>
    public static byte[]? ParseHash(string? hash)
    {
        if (hash is null || !hash.StartsWith(HashPrefix, StringComparison.Ordinal) || hash.Length != HashPrefix.Length + 64)
        {
            return null;
        }

        var hex = hash.AsSpan(HashPrefix.Length);
        foreach (var c in hex)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return null;
            }
        }

        return Convert.FromHexString(hex);
    }

    /// <summary>True when <paramref name="presented"/> has the form of a key this service makes (never compared otherwise).</summary>
    public static bool IsWellFormed(string presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        if (presented.Length != KeyLength || !presented.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in presented.AsSpan(Prefix.Length))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>What is wrong with a key's name, or null: 1–64 printable characters.</summary>
    public static string? NameProblem(string? name) => name switch
    {
        null or "" => "a key needs a name (who uses it: a person, a dashboard, a building-management system)",
        _ when string.IsNullOrWhiteSpace(name) || name.Trim().Length != name.Length => $"the key name '{Text.Visible(name)}' must not be blank or start or end with white space",
        { Length: > MaxNameLength } => $"the key name '{Text.Visible(name[..MaxNameLength])}…' is longer than {MaxNameLength} characters",
        _ when !Text.IsPrintable(name) => $"the key name '{Text.Visible(name)}' holds control characters",
        _ => null,
    };
}
