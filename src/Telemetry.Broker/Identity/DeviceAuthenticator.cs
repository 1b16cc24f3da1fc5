using System.Net;
using Microsoft.Extensions.Options;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Telemetry.Domain.Identity;
using Telemetry.Domain.Ingest;

namespace Telemetry.Broker.Identity;

/// <summary>A refused CONNECT: the MQTT reason code, the reason label for metrics and logs, and a sentence.</summary>
public readonly record struct ConnectRefusal(MqttConnectReasonCode Code, string Reason, string Detail);

/// <summary>
/// Decides who a connection is (<see cref="ConnectionIdentity"/>), in this order:
/// <list type="number">
/// <item>a verified client certificate: the identity it names (<see cref="ICertificateIdentity"/>); a username and
///   password sent alongside are not looked at;</item>
/// <item>a username, when a credential store is configured: the store's entry, if the password matches its hash —
///   after the failed-login throttle (<see cref="LoginThrottle"/>) was asked, so a locked address or username costs no
///   hashing; at most <see cref="HashingSlots"/> hashes are computed at once and at most <see cref="MaxQueuedLogins"/> wait
///   (beyond: <c>login_busy</c>, CONNACK 0x89), so a burst of logins cannot take all CPU from ingest;</item>
/// <item>otherwise anonymous, where anonymous devices are allowed (<c>Broker:AllowAnonymous</c>; a username sent
///   without a store is ignored, as before the store existed).</item>
/// </list>
/// Then the client id is claimed (<see cref="ClientIdOwners.TryClaim"/>): one held by a live connection of another
/// identity is refused (<c>client_id_in_use</c>), unless the new identity's name is that client id — a device takes
/// its own id back from a squatter (<c>client_id_reclaimed</c> in the returned refusal's reason, code Success).
/// </summary>
public sealed class DeviceAuthenticator(
    IOptions<BrokerOptions> options,
    CredentialStore store,
    LoginThrottle throttle,
    ClientIdOwners owners,
    ICertificateIdentity certificates,
    TimeProvider time) : IDisposable
{
    /// <summary>Password hashes computed at once: half the cores (at least one), so ingest keeps CPU during a login storm.</summary>
    public static readonly int HashingSlots = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Logins waiting for a hashing slot at most; beyond, CONNACK 0x89 server busy (<c>login_busy</c>).</summary>
    public const int MaxQueuedLogins = 32;

    /// <summary>Longest username looked at (UTF-8 bytes); longer ones are refused as bad credentials without hashing.</summary>
    public const int MaxUsernameBytes = 256;

    readonly SemaphoreSlim hashing = new(HashingSlots, HashingSlots);
    int waitingOrHashing;

    /// <summary>Hashed when a username is unknown, so that the answer takes as long as for a known one.</summary>
    static readonly Lazy<PasswordHash> Decoy = new(() => PasswordHash.Create(Guid.NewGuid().ToString("N")));

    public async Task<(ConnectionIdentity? Identity, ConnectRefusal Refusal)> AuthenticateAsync(ValidatingConnectionEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var (identity, refusal) = args.IsSecureConnection && args.ClientCertificate is { } certificate
            ? FromCertificate(certificate)
            : store.IsConfigured && !string.IsNullOrEmpty(args.UserName)
                ? await FromPasswordAsync(args).ConfigureAwait(false)
                : Anonymous();
        if (identity is null)
        {
            return (null, refusal);
        }

        // Claimed here, atomically, so that two identities racing for one free id cannot both pass; the claim is kept
        // in the session items and re-stored at ClientConnected (see MqttBroker).
        var result = owners.TryClaim(args.ClientId ?? "", identity, out var claim);
        if (result == ClaimResult.InUse)
        {
            return (null, new ConnectRefusal(MqttConnectReasonCode.ClientIdentifierNotValid, "client_id_in_use",
                $"client id '{Text.ForLog(args.ClientId)}' is held by a live connection of another identity; {identity} may not take it over"));
        }

        ClientIdOwners.StoreIn(args.SessionItems, claim!);
        return (identity, new ConnectRefusal(MqttConnectReasonCode.Success, result == ClaimResult.Reclaimed ? "client_id_reclaimed" : "", ""));
    }

    (ConnectionIdentity?, ConnectRefusal) FromCertificate(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        var name = certificates.IdentityOf(certificate);
        return name is null
            ? (null, new ConnectRefusal(MqttConnectReasonCode.NotAuthorized, "certificate_without_identity",
                $"the client certificate '{Text.ForLog(certificate.Subject)}' names no device identity"))
            : (new ConnectionIdentity(name, IdentitySource.Certificate), default);
    }

    (ConnectionIdentity?, ConnectRefusal) Anonymous() =>
        options.Value.AnonymousAllowed()
            ? (ConnectionIdentity.Anonymous, default)
            : (null, new ConnectRefusal(MqttConnectReasonCode.NotAuthorized, "anonymous_not_allowed",
                "this broker requires a username and password or a client certificate"));

    async Task<(ConnectionIdentity?, ConnectRefusal)> FromPasswordAsync(ValidatingConnectionEventArgs args)
    {
        var user = args.UserName;
        var source = (args.RemoteEndPoint as IPEndPoint)?.Address;
        if (System.Text.Encoding.UTF8.GetByteCount(user) > MaxUsernameBytes)
        {
            throttle.Failed(source, "");
            return (null, new ConnectRefusal(MqttConnectReasonCode.BadUserNameOrPassword, "bad_credentials",
                $"username longer than {MaxUsernameBytes} bytes"));
        }

        var (locked, delay) = throttle.Check(source, user);
        if (locked)
        {
            return (null, new ConnectRefusal(MqttConnectReasonCode.NotAuthorized, "login_throttled",
                $"too many failed logins from this address or for user '{Text.ForLog(user)}' from it; refused for a while (Broker:LoginThrottle)"));
        }

        using var place = throttle.TryEnter(source);
        if (place is null)
        {
            return (null, new ConnectRefusal(MqttConnectReasonCode.NotAuthorized, "login_throttled",
                "too many logins from this address are being checked at once (Broker:LoginThrottle:MaxInFlightPerAddress)"));
        }

        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, time, args.CancellationToken).ConfigureAwait(false);
        }

        var entry = store.Find(user);
        bool valid;
        if (Interlocked.Increment(ref waitingOrHashing) > HashingSlots + MaxQueuedLogins)
        {
            Interlocked.Decrement(ref waitingOrHashing);
            return (null, new ConnectRefusal(MqttConnectReasonCode.ServerBusy, "login_busy",
                "too many logins are waiting for a password check; try again later"));
        }

        try
        {
            await hashing.WaitAsync(args.CancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref waitingOrHashing);
            throw;
        }

        try
        {
            valid = entry is { Hash.AllowsPasswordLogin: true } ? entry.Hash.Verify(args.Password ?? "") : !Decoy.Value.Verify(args.Password ?? "");
            valid = valid && entry is { Hash.AllowsPasswordLogin: true };
        }
        finally
        {
            hashing.Release();
            Interlocked.Decrement(ref waitingOrHashing);
        }

        if (!valid)
        {
            throttle.Failed(source, user);
            return (null, new ConnectRefusal(MqttConnectReasonCode.BadUserNameOrPassword, "bad_credentials",
                $"wrong username or password for user '{Text.ForLog(user)}'"));
        }

        return (new ConnectionIdentity(entry!.Identity, IdentitySource.Password, entry.Hash.Text), default);
    }

    public void Dispose() => hashing.Dispose();
}
