using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Telemetry.Broker.Identity;

/// <summary>
/// The device identity a verified client certificate names (the TLS listener has already checked the chain and
/// revocation). Null when the certificate names none: the connection is refused.
/// </summary>
public interface ICertificateIdentity
{
    string? IdentityOf(X509Certificate2 certificate);
}

/// <summary>The default: the subject's common name (CN).</summary>
public sealed class CommonNameCertificateIdentity : ICertificateIdentity
{
    public string? IdentityOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var name = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        return string.IsNullOrWhiteSpace(name) ? null : name;
    }
}

public static class IdentityServiceCollectionExtensions
{
    /// <summary>Device identities: the credential store, the login throttle, the ACLs; a configurable certificate identity may replace the default.</summary>
    public static IServiceCollection AddDeviceIdentities(this IServiceCollection services)
    {
        services.TryAddSingleton<ICertificateIdentity, CommonNameCertificateIdentity>();
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
