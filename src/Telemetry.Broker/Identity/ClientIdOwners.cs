using System.Collections;
using System.Collections.Concurrent;

namespace Telemetry.Broker.Identity;

/// <summary>The outcome of <see cref="ClientIdOwners.TryClaim"/>.</summary>
public enum ClaimResult
{
    /// <summary>The client id was free; the claimant holds it now.</summary>
    Claimed,
    /// <summary>Held by the same identity: the new connection takes the session over, as MQTT says.</summary>
    TakenOver,
    /// <summary>Held by another identity, but the claimant's name is the client id: the squatter is pushed out.</summary>
    Reclaimed,
    /// <summary>Held by a live connection of another identity: refused (<c>client_id_in_use</c>).</summary>
    InUse,
}

/// <summary>
/// Which identity holds each client id with a live connection. MQTT lets a new CONNECT with a client id take over the
/// live session of that id (MQTTnet does so silently); the broker allows that only to the same identity, so that
/// another device cannot knock a device off by borrowing its client id — and to the identity whose name is the client
/// id, so that nobody can squat a device's own id while it is offline and keep it out. (Sessions end with their
/// connection: the broker keeps no persistent sessions, so a client id is free again once its connection is gone.)
/// </summary>
/// <remarks>
/// The claim is made during CONNECT validation with one atomic compare-and-set per attempt, so two identities racing
/// for one free id cannot both pass. Each claim is its own <see cref="Owner"/> object (compared by reference), kept in
/// the connection's session items, and a disconnect removes only that exact claim: a late disconnect event of an old
/// connection cannot remove the owner that replaced it.
/// </remarks>
public sealed class ClientIdOwners
{
    readonly ConcurrentDictionary<string, Owner> owners = new(StringComparer.Ordinal);

    /// <summary>One claim of a client id by one connection (reference identity: two claims are never equal).</summary>
    public sealed class Owner(ConnectionIdentity identity)
    {
        public ConnectionIdentity Identity { get; } = identity;

        /// <summary>
        /// The connection's held acknowledgements (its channel adapter), set at validation: a session takeover reuses the
        /// previous connection's session items, where they are stored again from the claim.
        /// </summary>
        public IHeldAcknowledgements? Acknowledgements { get; set; }
    }

    public int Count => owners.Count;

    /// <summary>The identity of the live connection holding <paramref name="clientId"/>, or null.</summary>
    public ConnectionIdentity? OwnerOf(string clientId) =>
        clientId is not null && owners.TryGetValue(clientId, out var owner) ? owner.Identity : null;

    /// <summary>The claim in force for <paramref name="clientId"/>, or null.</summary>
    public Owner? ClaimOf(string clientId) =>
        clientId is not null && owners.TryGetValue(clientId, out var owner) ? owner : null;

    /// <summary>
    /// Claims <paramref name="clientId"/> for <paramref name="identity"/> atomically: free, held by the same identity,
    /// or held by another identity while <paramref name="identity"/>'s name is the client id (a device reclaiming its
    /// own id). <paramref name="claim"/> is the new claim unless the result is <see cref="ClaimResult.InUse"/>.
    /// </summary>
    public ClaimResult TryClaim(string clientId, ConnectionIdentity identity, out Owner? claim)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        ArgumentNullException.ThrowIfNull(identity);
        var mine = new Owner(identity);
        while (true)
        {
            if (owners.TryAdd(clientId, mine))
            {
                claim = mine;
                return ClaimResult.Claimed;
            }

            if (!owners.TryGetValue(clientId, out var held))
            {
                continue; // removed in between: try to add again
            }

            var result = held.Identity.SameAs(identity) ? ClaimResult.TakenOver
                : !identity.IsAnonymous && string.Equals(identity.Name, clientId, StringComparison.Ordinal) ? ClaimResult.Reclaimed
                : ClaimResult.InUse;
            if (result == ClaimResult.InUse)
            {
                claim = null;
                return result;
            }

            if (owners.TryUpdate(clientId, mine, held))
            {
                claim = mine;
                return result;
            }
        }
    }

    /// <summary>Before the claim was used (the CONNECT was refused after all): gives the id back if still this claim's.</summary>
    public void Release(string clientId, Owner claim) => Disconnected(clientId, claim);

    /// <summary>The connection of <paramref name="claim"/> ended: the id is freed unless another connection holds it now.</summary>
    public bool Disconnected(string clientId, Owner? claim) =>
        clientId is not null && claim is not null && owners.TryRemove(new KeyValuePair<string, Owner>(clientId, claim));

    /// <summary>Live connections (client id, identity), e.g. to end those of a revoked identity.</summary>
    public IReadOnlyList<KeyValuePair<string, ConnectionIdentity>> Snapshot() =>
        [.. owners.Select(o => new KeyValuePair<string, ConnectionIdentity>(o.Key, o.Value.Identity))];

    static readonly object Key = new();

    /// <summary>The claim stored in a connection's session items, or null.</summary>
    public static Owner? ClaimIn(IDictionary? sessionItems) => sessionItems?[Key] as Owner;

    public static void StoreIn(IDictionary sessionItems, Owner claim)
    {
        ArgumentNullException.ThrowIfNull(sessionItems);
        sessionItems[Key] = claim;
    }
}
