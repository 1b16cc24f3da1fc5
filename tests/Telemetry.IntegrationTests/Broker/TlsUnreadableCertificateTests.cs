using Telemetry.IntegrationTests.Faults;
using static Telemetry.IntegrationTests.Broker.Tool;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>
/// A client certificate of the campus CA whose subject the identity check cannot read (a multi-valued RDN,
/// <c>CN=…+O=…</c>, on which .NET's single-element accessors throw) is refused with its reason — the exception does
/// not escape the handshake — and the listener goes on serving valid devices.
/// </summary>
public sealed class TlsUnreadableCertificateTests(TlsServiceFixture fixture) : IClassFixture<TlsServiceFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    TlsCertificates Certs => fixture.Certificates;

    [Fact]
    public async Task A_certificate_that_breaks_the_identity_check_is_refused_as_unreadable()
    {
        var folder = Certs.CampusFolder;
        var name = Path.Combine(folder, "devices", "tls-multi");
        var ext = name + ".ext";
        await File.WriteAllTextAsync(ext, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n", Ct);
        Assert.Equal(0, (await RunAsync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-multivalue-rdn", "-subj", "/CN=tls-multi+O=Campus", "-out", name + ".csr"], Ct)).ExitCode);
        Assert.Equal(0, (await RunAsync("openssl", ["x509", "-req", "-in", name + ".csr", "-CA", Certs.CaFile, "-CAkey", Path.Combine(folder, "ca.key"),
            "-CAcreateserial", "-sha256", "-days", "2", "-extfile", ext, "-out", name + ".crt"], Ct)).ExitCode);

        var label = "reason=\"certificate_unreadable\"";
        var before = await Stored.MetricAsync(fixture.Rig.Service.Http, "telemetry_tls_handshakes_total", Ct, label);
        var refused = await PublishAsync("tls-multi", name);
        Assert.True(refused.ExitCode != 0, $"mosquitto_pub with a multi-valued RDN should have been refused: {refused.Output}");
        await Poll.UntilAsync("the refusal to be counted as certificate_unreadable",
            () => Stored.MetricAsync(fixture.Rig.Service.Http, "telemetry_tls_handshakes_total", Ct, label), n => n > before, cancellationToken: Ct);

        var good = await PublishAsync(TlsCertificates.Good, Path.Combine(folder, "devices", TlsCertificates.Good));
        Assert.True(good.ExitCode == 0, $"the good device after the refusal exited {good.ExitCode}: {good.Output}");
    }

    Task<Result> PublishAsync(string sensor, string certificate) => RunAsync("mosquitto_pub",
    [
        "-h", "127.0.0.1", "-p", Text(fixture.TlsPort), "--cafile", Certs.CaFile, "-q", "1", "-i", sensor,
        "-t", $"campus/tls/r1/{sensor}/telemetry", "-m", "{\"temperature\":21.5}",
        "--cert", certificate + ".crt", "--key", certificate + ".key",
    ], Ct);
}
