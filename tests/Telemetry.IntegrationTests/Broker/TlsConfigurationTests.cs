using Microsoft.Extensions.Options;
using Telemetry.IntegrationTests.EndToEnd;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>TLS settings that cannot work stop the service at start with an error naming the key.</summary>
public sealed class TlsConfigurationTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static async Task<string> StartFailureAsync(params string[] settings)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var service = await TelemetryServiceHost.StartAsync(settings, Ct);
        });
        return error.Message;
    }

    [Fact]
    public async Task Missing_certificate_files_name_their_keys()
    {
        var message = await StartFailureAsync("--Broker:Tls:Enabled=true", "--Broker:Tls:Port=1", "--Broker:Tls:CertificateFile=/nonexistent/server.crt");
        Assert.Contains("Broker:Tls:CertificateFile: /nonexistent/server.crt does not exist", message, StringComparison.Ordinal);
        Assert.Contains("Broker:Tls:KeyFile must name a PEM file", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Required_client_certificates_need_a_ca_file_and_deny_entries_must_be_hex()
    {
        using var certificates = await TlsCertificates.CreateAsync(Ct);
        var message = await StartFailureAsync(
            "--Broker:Tls:Enabled=true", "--Broker:Tls:Port=1",
            $"--Broker:Tls:CertificateFile={certificates.ServerCertificateFile}", $"--Broker:Tls:KeyFile={certificates.ServerKeyFile}",
            "--Broker:Tls:ClientCertificates=Required", "--Broker:Tls:DeniedCertificates:0=not-a-fingerprint");
        Assert.Contains("Broker:Tls:ClientCaFile must name a PEM file", message, StringComparison.Ordinal);
        Assert.Contains("Broker:Tls:DeniedCertificates: 'not-a-fingerprint'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_that_does_not_match_the_certificate_is_refused()
    {
        using var certificates = await TlsCertificates.CreateAsync(Ct);
        var message = await StartFailureAsync(
            "--Broker:Tls:Enabled=true", "--Broker:Tls:Port=1",
            $"--Broker:Tls:CertificateFile={certificates.ServerCertificateFile}", $"--Broker:Tls:KeyFile={certificates.DeviceKey(TlsCertificates.Good)}");
        Assert.Contains("cannot be used as the TLS certificate", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revocation_list_of_another_ca_is_refused()
    {
        using var campus = await TlsCertificates.CreateAsync(Ct);
        using var other = await TlsCertificates.CreateAsync(Ct);
        var message = await StartFailureAsync(
            "--Broker:Tls:Enabled=true", "--Broker:Tls:Port=1",
            $"--Broker:Tls:CertificateFile={campus.ServerCertificateFile}", $"--Broker:Tls:KeyFile={campus.ServerKeyFile}",
            "--Broker:Tls:ClientCertificates=Required", $"--Broker:Tls:ClientCaFile={campus.CaFile}",
            $"--Broker:Tls:RevocationListFile={other.RevocationListFile}");
        Assert.Contains("Broker:Tls:RevocationListFile cannot be used", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Turning_both_listeners_off_is_refused()
    {
        var message = await StartFailureAsync("--Broker:Plain:Enabled=false");
        Assert.Contains("Broker:Plain:Enabled and Broker:Tls:Enabled are both false", message, StringComparison.Ordinal);
    }
}
