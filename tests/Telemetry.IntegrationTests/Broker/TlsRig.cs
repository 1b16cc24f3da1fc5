using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Telemetry.IntegrationTests.Deploy;
using Telemetry.IntegrationTests.Faults;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>
/// Certificates made by <c>deploy/make-certs.sh</c> in a temp folder: the campus CA with a server certificate and the
/// devices <see cref="Good"/>, <see cref="Denied"/> and <see cref="Revoked"/> (with the CA's CRL revoking it), and another CA (<see cref="OtherCaFolder"/>) that issued a
/// certificate with the same CN as <see cref="Good"/>.
/// </summary>
public sealed class TlsCertificates : IDisposable
{
    public const string Good = "tls-good";
    public const string Denied = "tls-denied";
    public const string Revoked = "tls-revoked";
    public const string RevokedLater = "tls-later";
    public const string UriPrefix = "urn:campus:sensor:";

    TlsCertificates(string root)
    {
        Root = root;
    }

    public string Root { get; }

    public string CampusFolder => Path.Combine(Root, "campus");

    public string OtherCaFolder => Path.Combine(Root, "other");

    public string CaFile => Path.Combine(CampusFolder, "ca.crt");

    public string ServerCertificateFile => Path.Combine(CampusFolder, "server.crt");

    public string ServerKeyFile => Path.Combine(CampusFolder, "server.key");

    public string DeviceCertificate(string id, bool otherCa = false) => Path.Combine(otherCa ? OtherCaFolder : CampusFolder, "devices", $"{id}.crt");

    public string DeviceKey(string id, bool otherCa = false) => Path.Combine(otherCa ? OtherCaFolder : CampusFolder, "devices", $"{id}.key");

    public string DeniedFingerprint => File.ReadAllText(Path.Combine(CampusFolder, "devices", $"{Denied}.sha256")).Trim();

    public static string Script => Path.Combine(ComposeFile.FindRepositoryRoot(), "deploy", "make-certs.sh");

    public static async Task<TlsCertificates> CreateAsync(CancellationToken ct)
    {
        var certificates = new TlsCertificates(Directory.CreateTempSubdirectory("telemetry-it-tls-").FullName);
        await RunScriptAsync(certificates.CampusFolder, ct, "-u", UriPrefix, Good, Denied, Revoked, RevokedLater);
        await RunScriptAsync(certificates.OtherCaFolder, ct, Good);
        await RunScriptAsync(certificates.CampusFolder, ct, "-r", Revoked);
        return certificates;
    }

    /// <summary>The campus CA's CRL revoking <see cref="Revoked"/>, written by make-certs.sh -r.</summary>
    public string RevocationListFile => Path.Combine(CampusFolder, "ca.crl");

    public static async Task<Tool.Result> RunScriptAsync(string folder, CancellationToken ct, params string[] args)
    {
        var result = await Tool.RunAsync(Script, ["-o", folder, .. args], ct);
        Assert.True(result.ExitCode == 0, $"make-certs.sh exited {result.ExitCode}: {result.Output}");
        return result;
    }

    /// <summary>SHA-256 fingerprint (hex) of the first certificate of a PEM file or text.</summary>
    public static string Fingerprint(string pem)
    {
        using var certificate = X509Certificate2.CreateFromPem(pem);
        return certificate.GetCertHashString(HashAlgorithmName.SHA256);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>Runs a command-line client (mosquitto_pub, openssl) to its end, stdin closed, with a deadline.</summary>
public static class Tool
{
    public sealed record Result(int ExitCode, string Output);

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, CancellationToken ct, TimeSpan? within = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(within ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not end within {within ?? TimeSpan.FromSeconds(60)}");
        }

        return new Result(process.ExitCode, await stdout + await stderr);
    }

    public static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The service with its plain listener off and a TLS listener requiring device certificates of the campus CA
/// (<see cref="TlsCertificates.Denied"/> on the deny list, <see cref="TlsCertificates.Revoked"/> on the CA's CRL), its own InfluxDB, a small packet limit and a short
/// handshake deadline.
/// </summary>
public sealed class TlsServiceFixture : IAsyncLifetime
{
    FaultRig? rig;
    TlsCertificates? certificates;

    public FaultRig Rig => rig ?? throw new InvalidOperationException("not started");

    public TlsCertificates Certificates => certificates ?? throw new InvalidOperationException("not started");

    public int TlsPort { get; } = FreePort.Get();

    public const int MaxPacketBytes = 65536;

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        certificates = await TlsCertificates.CreateAsync(ct);
        rig = await FaultRig.StartAsync(
            [
                "--Broker:Plain:Enabled=false",
                "--Broker:Tls:Enabled=true",
                $"--Broker:Tls:Port={TlsPort}",
                $"--Broker:Tls:CertificateFile={certificates.ServerCertificateFile}",
                $"--Broker:Tls:KeyFile={certificates.ServerKeyFile}",
                "--Broker:Tls:ClientCertificates=Required",
                $"--Broker:Tls:ClientCaFile={certificates.CaFile}",
                $"--Broker:Tls:DeniedCertificates:0={certificates.DeniedFingerprint}",
                $"--Broker:Tls:RevocationListFile={certificates.RevocationListFile}",
                "--Broker:Tls:HandshakeTimeout=00:00:03",
                $"--Broker:MaxPacketBytes={MaxPacketBytes}",
            ], ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (rig is not null)
        {
            await rig.DisposeAsync();
        }

        certificates?.Dispose();
    }
}
