using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Telemetry.Broker.Identity;

/// <summary>
/// The device identity a verified client certificate names (the TLS listener has already checked the chain and
/// revocation). Null when the certificate names none: the connection is refused.
/// </summary>
public interface ICertificateIdentity
{
    string? IdentityOf(X509Certificate2 certificate);
}

/// <summary>
/// The identity as <c>Broker:Tls:IdentityFrom</c> says (the certificate's CN, or its first SAN URI less <c>Broker:Tls:IdentityPrefix</c>), read by
/// <see cref="Transport.CertificateIdentity.Of"/>.
/// </summary>
public sealed class ConfiguredCertificateIdentity(IOptions<BrokerOptions> options) : ICertificateIdentity
{
    public string? IdentityOf(X509Certificate2 certificate) =>
        Transport.CertificateIdentity.Of(certificate, options.Value.Tls.IdentityFrom, options.Value.Tls.IdentityPrefix);
}

public static class IdentityServiceCollectionExtensions
{
    /// <summary>Device identities: the credential store, the login throttle, the ACLs; the certificate identity as Broker:Tls:IdentityFrom says.</summary>
    public static IServiceCollection AddDeviceIdentities(this IServiceCollection services)
    {
        services.TryAddSingleton<ICertificateIdentity, ConfiguredCertificateIdentity>();
        services.TryAddSingleton(new ProtectedTopics(ProtectedTopics.DefaultAlertTopicRoot));
        services.AddSingleton<CredentialStore>();
        services.AddHostedService(sp => sp.GetRequiredService<CredentialStore>());
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<ClientIdOwners>();
        services.AddSingleton<DeviceAuthenticator>();
        services.AddSingleton<PublishAuthorizer>();
        services.AddSingleton<SubscriptionAuthorizer>();
        return services;
    }
}
