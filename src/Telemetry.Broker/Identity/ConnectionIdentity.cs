using System.Collections;

namespace Telemetry.Broker.Identity;

/// <summary>How a connection proved who it is.</summary>
public enum IdentitySource
{
    /// <summary>Nothing: let in only where anonymous devices are allowed (<c>Broker:AllowAnonymous</c>).</summary>
    Anonymous,
    /// <summary>A username and password checked against the credential store.</summary>
    Password,
    /// <summary>A client certificate verified by the TLS listener.</summary>
    Certificate,
}

/// <summary>
/// The authenticated identity of one MQTT connection, decided once at CONNECT and kept in the session items. What a
/// connection may publish and subscribe follows from it, never from the client id the client chose.
/// <see cref="Credential"/> is the password hash it logged in with, so a rotated or revoked entry ends the session.
/// </summary>
public sealed record ConnectionIdentity(string Name, IdentitySource Source, string? Credential = null)
{
    public static ConnectionIdentity Anonymous { get; } = new("", IdentitySource.Anonymous);

    public bool IsAnonymous => Source == IdentitySource.Anonymous;

    /// <summary>Two connections are the same device when they have the same name from the same kind of proof.</summary>
    public bool SameAs(ConnectionIdentity other) =>
        other is not null && other.Source == Source && string.Equals(other.Name, Name, StringComparison.Ordinal);

    /// <summary>For log lines: <c>password:freezer-1</c>, <c>certificate:freezer-1</c>, <c>anonymous</c>.</summary>
    public override string ToString() => IsAnonymous ? "anonymous" : $"{Source.ToString().ToLowerInvariant()}:{Name}";

    static readonly object Key = new();

    /// <summary>The identity stored at CONNECT; anonymous for a session without one (the service's own messages).</summary>
    public static ConnectionIdentity Of(IDictionary? sessionItems) =>
        sessionItems?[Key] as ConnectionIdentity ?? Anonymous;

    public void StoreIn(IDictionary sessionItems)
    {
        ArgumentNullException.ThrowIfNull(sessionItems);
        sessionItems[Key] = this;
    }
}
