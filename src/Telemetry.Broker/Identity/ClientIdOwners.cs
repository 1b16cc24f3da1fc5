using System.Collections.Concurrent;

namespace Telemetry.Broker.Identity;

/// <summary>
/// Which identity holds each client id with a live connection. MQTT lets a new CONNECT with a client id take over the
/// live session of that id (MQTTnet does so silently); the broker allows that only to the same identity, so that
/// another device cannot knock a device off by borrowing its client id. (Sessions end with their connection: the
/// broker keeps no persistent sessions, so a client id is free again once its connection is gone.)
/// </summary>
public sealed class ClientIdOwners
{
    readonly ConcurrentDictionary<string, ConnectionIdentity> owners = new(StringComparer.Ordinal);

    public int Count => owners.Count;

    /// <summary>The identity of the live connection holding <paramref name="clientId"/>, or null.</summary>
    public ConnectionIdentity? OwnerOf(string clientId) =>
        clientId is not null && owners.TryGetValue(clientId, out var owner) ? owner : null;

    public void Connected(string clientId, ConnectionIdentity identity) => owners[clientId] = identity;

    /// <summary>The connection of <paramref name="clientId"/> ended (not by a takeover, which keeps the id held).</summary>
    public void Disconnected(string clientId) => owners.TryRemove(clientId, out _);

    /// <summary>Live connections (client id, identity), e.g. to end those of a revoked identity.</summary>
    public IReadOnlyList<KeyValuePair<string, ConnectionIdentity>> Snapshot() => [.. owners];
}
