using System.Net;
using System.Net.Sockets;
using Telemetry.IntegrationTests.Faults;
using static Telemetry.IntegrationTests.Broker.Tool;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>
/// The broker's TLS listener with device certificates required, against real clients: mosquitto_pub with
/// <c>--cafile/--cert/--key</c> and <c>openssl s_client</c>; certificates made by <c>deploy/make-certs.sh</c>.
/// </summary>
public sealed class TlsListenerTests(TlsServiceFixture fixture) : IClassFixture<TlsServiceFixture>
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    TlsCertificates Certs => fixture.Certificates;

    Task<double> HandshakesAsync(string label) =>
        Stored.MetricAsync(fixture.Rig.Service.Http, "telemetry_tls_handshakes_total", Ct, label);

    Task<Result> PublishAsync(string sensor, string? device, bool otherCa = false, string? payloadFile = null)
    {
        List<string> args =
        [
            "-h", "127.0.0.1", "-p", Text(fixture.TlsPort), "--cafile", Certs.CaFile, "-q", "1", "-i", sensor,
            "-t", $"campus/tls/r1/{sensor}/telemetry",
        ];
        args.AddRange(payloadFile is null ? ["-m", "{\"temperature\":21.5}"] : ["-f", payloadFile]);
        if (device is not null)
        {
            args.AddRange(["--cert", Certs.DeviceCertificate(device, otherCa), "--key", Certs.DeviceKey(device, otherCa)]);
        }

        return RunAsync("mosquitto_pub", args, Ct);
    }

    Task<long> StoredAsync(string sensor) =>
        fixture.Rig.Influx.CountAsync("campus", "telemetry", "temperature", $"sensor = '{sensor}'", Ct);

    /// <summary>openssl s_client with the good device's certificate; extra arguments pick the protocol.</summary>
    Task<Result> SClientAsync(params string[] extra) =>
        RunAsync("openssl",
        [
            "s_client", "-connect", $"127.0.0.1:{Text(fixture.TlsPort)}", "-CAfile", Certs.CaFile,
            "-cert", Certs.DeviceCertificate(TlsCertificates.Good), "-key", Certs.DeviceKey(TlsCertificates.Good), .. extra,
        ], Ct);

    [Fact]
    public async Task Mosquitto_pub_with_a_valid_device_certificate_publishes_a_reading_that_is_stored()
    {
        var accepted = await HandshakesAsync("result=\"accepted\"");
        var before = await StoredAsync(TlsCertificates.Good); // other tests of this class publish for the same device
        var result = await PublishAsync(TlsCertificates.Good, TlsCertificates.Good);
        Assert.True(result.ExitCode == 0, $"mosquitto_pub over TLS exited {result.ExitCode}: {result.Output}");
        Assert.Equal(before + 1, await Poll.UntilAsync($"the TLS reading of {TlsCertificates.Good} in InfluxDB", () => StoredAsync(TlsCertificates.Good), n => n >= before + 1, cancellationToken: Ct));
        await Poll.UntilAsync("the TLS handshake to be counted as accepted", () => HandshakesAsync("result=\"accepted\""), n => n > accepted, cancellationToken: Ct);
    }

    [Fact]
    public async Task The_certificate_identity_not_the_client_id_decides_which_sensor_a_device_publishes_for()
    {
        // The good device's certificate names tls-good; it connects with client id tls-borrowed and publishes for
        // tls-borrowed: refused (sensor_not_allowed). Then, as a later process on the same broker, it publishes for its
        // own sensor, which is stored: once that is in InfluxDB the refused one has long been decided.
        var refused = await PublishAsync("tls-borrowed", TlsCertificates.Good);
        Assert.True(refused.ExitCode == 0, $"mosquitto_pub over TLS exited {refused.ExitCode}: {refused.Output}");
        var before = await StoredAsync(TlsCertificates.Good);
        var own = await PublishAsync(TlsCertificates.Good, TlsCertificates.Good);
        Assert.True(own.ExitCode == 0, $"mosquitto_pub over TLS exited {own.ExitCode}: {own.Output}");
        await Poll.UntilAsync($"the second TLS reading of {TlsCertificates.Good} in InfluxDB", () => StoredAsync(TlsCertificates.Good), n => n > before, cancellationToken: Ct);
        Assert.Equal(0, await StoredAsync("tls-borrowed"));
    }

    [Theory]
    [InlineData(null, false, "no_client_certificate")]
    [InlineData(TlsCertificates.Good, true, "certificate_untrusted")]
    [InlineData(TlsCertificates.Denied, false, "certificate_denied")]
    [InlineData(TlsCertificates.Revoked, false, "certificate_revoked")]
    public async Task A_device_without_a_valid_certificate_is_refused_with_its_reason(string? device, bool otherCa, string reason)
    {
        var sensor = $"tls-refused-{reason}"[..24];
        var label = $"reason=\"{reason}\"";
        var before = await HandshakesAsync(label);

        var result = await PublishAsync(sensor, device, otherCa);

        Assert.True(result.ExitCode != 0, $"mosquitto_pub should have been refused, exited 0: {result.Output}");
        await Poll.UntilAsync($"the TLS refusal to be counted as {reason}", () => HandshakesAsync(label), n => n > before, cancellationToken: Ct);
        Assert.Equal(0, await StoredAsync(sensor));
    }

    [Fact]
    public async Task A_device_revoked_while_the_broker_runs_is_refused_at_its_next_connection()
    {
        var sensor = "tls-later-1";
        var before = await PublishAsync(sensor, TlsCertificates.RevokedLater);
        Assert.True(before.ExitCode == 0, $"mosquitto_pub before the revocation exited {before.ExitCode}: {before.Output}");

        await TlsCertificates.RunScriptAsync(Certs.CampusFolder, Ct, "-r", TlsCertificates.RevokedLater);

        var label = "reason=\"certificate_revoked\"";
        var revoked = await HandshakesAsync(label);
        await Poll.UntilAsync("the revoked device to be refused",
            async () => (await PublishAsync("tls-later-2", TlsCertificates.RevokedLater)).ExitCode, exitCode => exitCode != 0, cancellationToken: Ct);
        await Poll.UntilAsync("the refusal to be counted as certificate_revoked", () => HandshakesAsync(label), n => n > revoked, cancellationToken: Ct);
    }

    [Fact]
    public async Task A_certificate_of_the_campus_ca_not_meant_for_clients_is_refused()
    {
        // The server certificate: signed by the campus CA, with a CN, but its extended key usage is serverAuth only.
        var label = "reason=\"certificate_not_for_clients\"";
        var before = await HandshakesAsync(label);
        var result = await RunAsync("mosquitto_pub",
        [
            "-h", "127.0.0.1", "-p", Text(fixture.TlsPort), "--cafile", Certs.CaFile, "--cert", Certs.ServerCertificateFile,
            "--key", Certs.ServerKeyFile, "-q", "1", "-i", "tls-server-cert", "-t", "campus/tls/r1/tls-server-cert/telemetry",
            "-m", "{\"temperature\":1}",
        ], Ct);
        Assert.True(result.ExitCode != 0, $"mosquitto_pub with a server certificate should have been refused: {result.Output}");
        await Poll.UntilAsync("the refusal to be counted as certificate_not_for_clients", () => HandshakesAsync(label), n => n > before, cancellationToken: Ct);
    }

    [Fact]
    public async Task Plain_mqtt_sent_to_the_tls_port_is_refused_and_the_listener_carries_on()
    {
        var label = "reason=\"handshake_failed\"";
        var before = await HandshakesAsync(label);
        var plain = await RunAsync("mosquitto_pub",
            ["-h", "127.0.0.1", "-p", Text(fixture.TlsPort), "-q", "1", "-i", "tls-plain", "-t", "campus/tls/r1/tls-plain/telemetry", "-m", "{\"temperature\":1}"], Ct);
        Assert.True(plain.ExitCode != 0, $"plain MQTT on the TLS port should fail, exited 0: {plain.Output}");
        await Poll.UntilAsync("the plain CONNECT on the TLS port to be counted", () => HandshakesAsync(label), n => n > before, cancellationToken: Ct);

        var good = await PublishAsync("tls-after-plain", TlsCertificates.Good);
        Assert.True(good.ExitCode == 0, $"mosquitto_pub over TLS after the plain attempt exited {good.ExitCode}: {good.Output}");
        Assert.Equal(0, await StoredAsync("tls-plain"));
    }

    [Theory]
    [InlineData("-tls1_2", "TLSv1.2")]
    [InlineData("-tls1_3", "TLSv1.3")]
    public async Task Tls_1_2_and_1_3_are_accepted(string option, string protocol)
    {
        var result = await SClientAsync(option, "-brief");
        Assert.True(result.ExitCode == 0, $"openssl s_client {option} exited {result.ExitCode}: {result.Output}");
        Assert.Contains($"Protocol version: {protocol}", result.Output, StringComparison.Ordinal);
        Assert.Contains("Verification: OK", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-tls1")]
    [InlineData("-tls1_1")]
    public async Task Tls_1_0_and_1_1_are_refused_by_the_server(string option)
    {
        var before = await HandshakesAsync("reason=\"handshake_failed\"");
        // SECLEVEL=0 lets this openssl offer the old protocol at all, so that it is the broker that says no.
        var result = await SClientAsync(option, "-cipher", "DEFAULT@SECLEVEL=0");
        Assert.True(result.ExitCode != 0, $"openssl s_client {option} should fail, exited 0: {result.Output}");
        Assert.DoesNotContain("no protocols available", result.Output, StringComparison.Ordinal);
        await Poll.UntilAsync($"the {option} handshake to be counted as refused", () => HandshakesAsync("reason=\"handshake_failed\""), n => n > before, cancellationToken: Ct);
    }

    [Fact]
    public async Task The_plain_listener_can_be_switched_off()
    {
        using var client = new TcpClient(AddressFamily.InterNetwork);
        var refused = await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync(IPAddress.Loopback, fixture.Rig.Service.MqttPort, Ct).AsTask());
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task A_client_that_never_finishes_the_handshake_is_closed_at_the_deadline()
    {
        var before = await HandshakesAsync("reason=\"handshake_timeout\"");
        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Loopback, fixture.TlsPort, Ct);
        var stream = client.GetStream();
        var read = await stream.ReadAsync(new byte[16], Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(60), Ct);
        Assert.Equal(0, read); // the broker closed the connection (Broker:Tls:HandshakeTimeout is 3 s here)
        await Poll.UntilAsync("the slow handshake to be counted", () => HandshakesAsync("reason=\"handshake_timeout\""), n => n > before, cancellationToken: Ct);
    }

    [Fact]
    public async Task A_packet_above_the_size_limit_closes_the_tls_connection()
    {
        var sensor = "tls-too-big";
        var payload = Path.Combine(Certs.Root, "big.json");
        await File.WriteAllTextAsync(payload, $$"""{"temperature":1,"pad":"{{new string('x', TlsServiceFixture.MaxPacketBytes * 2)}}"}""", Ct);
        var before = await Stored.MetricAsync(fixture.Rig.Service.Http, "telemetry_mqtt_messages_refused_total", Ct, "reason=\"packet_too_large\"");

        // Under the full suite's load a TLS handshake can outlast this fixture's 3 s Broker:Tls:HandshakeTimeout, and then
        // the packet is never sent: mosquitto_pub runs again until the oversized packet itself has been refused.
        await Poll.UntilAsync("the oversized TLS packet to be counted",
            async () =>
            {
                var counted = await Stored.MetricAsync(fixture.Rig.Service.Http, "telemetry_mqtt_messages_refused_total", Ct, "reason=\"packet_too_large\"");
                if (counted > before)
                {
                    return (Counted: counted, Output: "");
                }

                var result = await PublishAsync(sensor, TlsCertificates.Good, payloadFile: payload);
                Assert.True(result.ExitCode != 0, $"mosquitto_pub of a packet above Broker:MaxPacketBytes should fail, exited 0: {result.Output}");
                return (Counted: await Stored.MetricAsync(fixture.Rig.Service.Http, "telemetry_mqtt_messages_refused_total", Ct, "reason=\"packet_too_large\""), result.Output);
            },
            n => n.Counted > before, within: TimeSpan.FromSeconds(60), show: n => $"{n.Counted} counted; mosquitto_pub: {n.Output}", cancellationToken: Ct);
        Assert.Equal(0, await StoredAsync(sensor));
    }

    [Fact]
    public async Task A_new_server_certificate_is_served_without_a_restart_and_a_broken_one_is_not()
    {
        var served = async () => TlsCertificates.Fingerprint((await SClientAsync()).Output);
        var original = TlsCertificates.Fingerprint(await File.ReadAllTextAsync(Certs.ServerCertificateFile, Ct));
        Assert.Equal(original, await served());

        // A broken file (half written, wrong) keeps the previous certificate, and the failure is counted.
        var failed = await Stored.MetricAsync(fixture.Rig.Service.Http, "telemetry_tls_reloads_total", Ct, "result=\"failed\"");
        await File.WriteAllTextAsync(Certs.ServerCertificateFile, "-----BEGIN CERTIFICATE-----\nbroken\n", Ct);
        Assert.Equal(original, await served());
        await Poll.UntilAsync("the failed reload to be counted",
            () => Stored.MetricAsync(fixture.Rig.Service.Http, "telemetry_tls_reloads_total", Ct, "result=\"failed\""), n => n > failed, cancellationToken: Ct);

        // Renewal as docs/security.md describes it: delete the certificate and run make-certs.sh again.
        File.Delete(Certs.ServerCertificateFile);
        await TlsCertificates.RunScriptAsync(Certs.CampusFolder, Ct);
        var renewed = TlsCertificates.Fingerprint(await File.ReadAllTextAsync(Certs.ServerCertificateFile, Ct));
        Assert.NotEqual(original, renewed);
        await Poll.UntilAsync("new connections to get the renewed certificate", served, fingerprint => fingerprint == renewed, cancellationToken: Ct);

        var result = await PublishAsync("tls-renewed", TlsCertificates.Good);
        Assert.True(result.ExitCode == 0, $"mosquitto_pub after the renewal exited {result.ExitCode}: {result.Output}");
    }
}
