using System.Security.Cryptography;
using System.Text;

namespace Telemetry.Service.Security;

/// <summary>One configured key, its hash decoded.</summary>
public sealed record ApiKeyEntry(string Name, string Role, byte[] Hash);

/// <summary>The configured API keys, validated (<see cref="ApiSettings.Problems"/>); finds the entry a presented key belongs to.</summary>
public sealed class ApiKeySet
{
    readonly ApiKeyEntry[] entries;

    ApiKeySet(ApiKeyEntry[] entries) => this.entries = entries;

    public static ApiKeySet Empty { get; } = new([]);

    public int Count => entries.Length;

    /// <summary>The keys of <paramref name="options"/>, which <see cref="ApiSettings.Problems"/> has accepted.</summary>
    public static ApiKeySet From(ApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ApiKeySet([.. options.Keys.Select(k => new ApiKeyEntry(
            k.Name!, k.Role!, ApiKeys.ParseHash(k.Hash) ?? throw new ArgumentException($"Api:Keys: the hash of '{k.Name}' was not validated", nameof(options))))]);
    }

    /// <summary>True when both sets hold the same names, roles and hashes in the same order.</summary>
    public bool SameAs(ApiKeySet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return entries.Length == other.entries.Length
               && entries.Zip(other.entries).All(p => p.First.Name == p.Second.Name && p.First.Role == p.Second.Role && p.First.Hash.AsSpan().SequenceEqual(p.Second.Hash));
    }

    /// <summary>True while a key named <paramref name="name"/> with <paramref name="role"/> is configured (a console session signed in with it stays valid).</summary>
    public bool Has(string name, string role) => entries.Any(e => e.Name == name && e.Role == role);

    /// <summary>
    /// The entry <paramref name="presented"/> is the key of, or null. A key not of the form <see cref="ApiKeys"/> makes
    /// is never compared. Its hash is compared with every entry's in constant time, without stopping at a match, so the
    /// time taken says nothing about which stored hash (or how much of it) matched.
    /// </summary>
    public ApiKeyEntry? Find(string presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        if (!ApiKeys.IsWellFormed(presented))
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        ApiKeyEntry? found = null;
        foreach (var entry in entries)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, entry.Hash))
            {
                found = entry;
            }
        }

        return found;
    }
}
