using System.Security.Cryptography;
using System.Text;

namespace Telemetry.Domain.Identity;

/// <summary>
/// A salted, slow password hash as written in the credential store, self-describing so that the store can hold
/// several kinds side by side:
/// <list type="bullet">
/// <item><c>$pbkdf2-sha512$i=210000$SALT$HASH</c> (or <c>$pbkdf2-sha256$…</c>): PBKDF2 in the PHC string format,
///   salt and hash in base64 without padding. What <c>telemetry-admin</c> writes (PBKDF2-SHA512, 210,000 iterations, a
///   16-byte random salt per entry).</item>
/// <item><c>$7$ITERATIONS$SALT$HASH</c>: mosquitto_passwd's PBKDF2-SHA512 (padded base64), read for sites migrating
///   from mosquitto. Its default of 101 iterations is weak: rotate such entries with <c>telemetry-admin</c>.</item>
/// <item><c>$6$SALT$HASH</c>: mosquitto's older salted SHA-512 (one round: weak, read only for migration).</item>
/// <item><c>!</c>: no password; the entry only gives sensors and roles to an identity that logs in with a client
///   certificate.</item>
/// </list>
/// Only .NET's <see cref="Rfc2898DeriveBytes"/> and <see cref="SHA512"/> compute; this type only reads and writes the text.
/// </summary>
public sealed class PasswordHash
{
    public const int DefaultIterations = 210_000;
    public const int MinimumIterations = 100_000;
    const int SaltBytes = 16;

    readonly HashScheme scheme;
    readonly int iterations;
    readonly byte[] salt;
    readonly byte[] hash;

    PasswordHash(HashScheme scheme, int iterations, byte[] salt, byte[] hash, string text)
    {
        this.scheme = scheme;
        this.iterations = iterations;
        this.salt = salt;
        this.hash = hash;
        Text = text;
    }

    /// <summary>The hash as written in the store.</summary>
    public string Text { get; }

    /// <summary>False for <c>!</c> (certificate-only identities).</summary>
    public bool AllowsPasswordLogin => scheme != HashScheme.None;

    /// <summary>Weaker than what <see cref="Create"/> writes: mosquitto's hashes with few iterations, or <c>$6$</c>.</summary>
    public bool IsWeak => scheme == HashScheme.Sha512Once || (scheme != HashScheme.None && iterations < MinimumIterations);

    public static PasswordHash NoPassword { get; } = new(HashScheme.None, 0, [], [], "!");

    /// <summary>A new PBKDF2-SHA512 hash of <paramref name="password"/> with a random salt.</summary>
    public static PasswordHash Create(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinimumIterations);
        if (password.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("a password may not hold U+0000 (it would never verify)", nameof(password));
        }

        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, 64);
        return new PasswordHash(HashScheme.Pbkdf2Sha512, iterations, salt, hash,
            $"$pbkdf2-sha512$i={iterations}${Unpadded(salt)}${Unpadded(hash)}");
    }

    /// <summary>Reads a hash written by <see cref="Create"/> or by mosquitto_passwd; false with the reason otherwise.</summary>
    public static bool TryParse(string text, out PasswordHash? result, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        result = null;
        error = "";
        if (text == "!")
        {
            result = NoPassword;
            return true;
        }

        var parts = text.Split('$');
        try
        {
            switch (parts)
            {
                case ["", "pbkdf2-sha512" or "pbkdf2-sha256", var parameters, var salt, var hash]
                    when parameters.StartsWith("i=", StringComparison.Ordinal)
                         && int.TryParse(parameters.AsSpan(2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i) && i > 0:
                    result = new PasswordHash(parts[1] == "pbkdf2-sha512" ? HashScheme.Pbkdf2Sha512 : HashScheme.Pbkdf2Sha256, i,
                        FromBase64(salt), FromBase64(hash), text);
                    break;
                case ["", "7", var count, var salt, var hash]
                    when int.TryParse(count, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i) && i > 0:
                    result = new PasswordHash(HashScheme.Pbkdf2Sha512, i, FromBase64(salt), FromBase64(hash), text);
                    break;
                case ["", "6", var salt, var hash]:
                    result = new PasswordHash(HashScheme.Sha512Once, 1, FromBase64(salt), FromBase64(hash), text);
                    break;
                default:
                    error = "not a password hash: expected $pbkdf2-sha512$i=N$salt$hash, mosquitto's $7$ or $6$, or ! for no password";
                    return false;
            }
        }
        catch (FormatException)
        {
            error = "the salt or hash is not base64";
            return false;
        }

        if (result.hash.Length < 16 || result.salt.Length < 8)
        {
            error = "the salt or hash is too short";
            result = null;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Whether <paramref name="password"/> has this hash; compares in fixed time. Costs the hash's iterations.
    /// A password holding U+0000 never verifies: PBKDF2's HMAC pads a short key with zero bytes, so "secret" followed
    /// by NULs would otherwise verify as "secret" (found by the hostile-input suite).
    /// </summary>
    public bool Verify(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (password.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        var bytes = Encoding.UTF8.GetBytes(password);
        byte[] computed;
        switch (scheme)
        {
            case HashScheme.Pbkdf2Sha512:
                computed = Rfc2898DeriveBytes.Pbkdf2(bytes, salt, iterations, HashAlgorithmName.SHA512, hash.Length);
                break;
            case HashScheme.Pbkdf2Sha256:
                computed = Rfc2898DeriveBytes.Pbkdf2(bytes, salt, iterations, HashAlgorithmName.SHA256, hash.Length);
                break;
            case HashScheme.Sha512Once:
                // mosquitto_passwd's $6$: SHA-512 over the password followed by the salt.
                computed = SHA512.HashData([.. bytes, .. salt]);
                break;
            default:
                return false;
        }

        return CryptographicOperations.FixedTimeEquals(computed, hash);
    }

    public override string ToString() => Text;

    static string Unpadded(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    static byte[] FromBase64(string text)
    {
        var padded = text.Length % 4 == 0 ? text : text + new string('=', 4 - (text.Length % 4));
        return Convert.FromBase64String(padded);
    }

    enum HashScheme
    {
        None,
        Pbkdf2Sha512,
        Pbkdf2Sha256,
        Sha512Once,
    }
}
