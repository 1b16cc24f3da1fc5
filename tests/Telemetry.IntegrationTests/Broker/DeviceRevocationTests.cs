using System.Diagnostics;
using MQTTnet;
using Telemetry.Admin;
using Telemetry.IntegrationTests.EndToEnd;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>
/// The operator's path end to end: <c>telemetry-admin devices add</c> writes the store the running service reads,
/// real mosquitto clients log in with it, <c>devices revoke</c> ends the device's live sessions within seconds and
/// refuses its next CONNECT. And a mosquitto_passwd file is a valid store as it is.
/// </summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class DeviceRevocationTests(ServiceOnInfluxV1Fixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_device_added_with_the_cli_connects_and_once_revoked_is_disconnected_and_refused()
    {
        var folder = Directory.CreateTempSubdirectory("telemetry-it-revoke-").FullName;
        var store = Path.Combine(folder, "devices.passwd");
        var passwordFile = Path.Combine(folder, "rev-s1.password");
        await File.WriteAllTextAsync(passwordFile, "rev-secret-1\n", Ct);
        Assert.Equal(0, await AdminAsync("devices", "add", "rev-s1", "--store", store, "--password-file", passwordFile));
        Assert.Equal(0, await AdminAsync("devices", "add", "rev-keep", "--store", store, "--password-file", passwordFile));

        await using var service = await TelemetryServiceHost.StartAsync(
        [
            "--Influx:Api=V1", $"--Influx:Url={fixture.Influx.Url}", $"--Influx:Database={ServiceOnInfluxV1Fixture.Database}",
            $"--Broker:CredentialsFile={store}",
        ], Ct);
        var port = service.MqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[] login = ["-h", "127.0.0.1", "-p", port, "-u", "rev-s1", "-P", "rev-secret-1", "-V", "mqttv5"];

        var (published, output) = await RunAsync("mosquitto_pub", [.. login, "-i", "rev-s1-pub", "-q", "1", "-t", "campus/rev/r1/rev-s1/telemetry", "-m", "{\"people\":3}"]);
        Assert.True(published == 0, $"mosquitto_pub exited {published}: {output}");

        // Two live sessions of the device: mosquitto_sub on its own topic, and an MQTTnet client; one of another device.
        using var sub = Start("mosquitto_sub", [.. login, "-i", "rev-s1-sub", "-t", "campus/rev/r1/rev-s1/telemetry"]);
        using var client = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await DeviceIdentityTests.ConnectAsync(client, service, "rev-s1-mqttnet", "rev-s1", "rev-secret-1")).ResultCode);
        using var other = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await DeviceIdentityTests.ConnectAsync(other, service, "rev-keep", "rev-keep", "rev-secret-1")).ResultCode);
        await Poll.UntilAsync("mosquitto_sub to hold its session", () => Task.FromResult(service.Services.GetService(typeof(Telemetry.Broker.Identity.ClientIdOwners)) is Telemetry.Broker.Identity.ClientIdOwners owners
            && owners.OwnerOf("rev-s1-sub") is not null), held => held, within: TimeSpan.FromSeconds(30), cancellationToken: Ct);

        Assert.Equal(0, await AdminAsync("devices", "revoke", "rev-s1", "--store", store));

        await Poll.UntilAsync("the revoked device's MQTTnet session to be disconnected", () => Task.FromResult(client.IsConnected), c => !c,
            within: TimeSpan.FromSeconds(30), cancellationToken: Ct);
        await Poll.UntilAsync("the revoked device's mosquitto_sub to exit", () => Task.FromResult(sub.HasExited), exited => exited,
            within: TimeSpan.FromSeconds(30), cancellationToken: Ct);
        Assert.True(other.IsConnected, "a device that was not revoked keeps its session");

        var (refused, why) = await RunAsync("mosquitto_pub", [.. login, "-i", "rev-s1-pub", "-q", "1", "-t", "campus/rev/r1/rev-s1/telemetry", "-m", "{\"people\":4}"]);
        Assert.True(refused != 0, $"mosquitto_pub with revoked credentials must fail: {why}");
        Assert.True(await DeviceIdentityTests.MetricAsync(service, "telemetry_mqtt_connections_refused_total", "credentials_revoked") >= 2);
    }

    [Theory]
    [InlineData("sha512-pbkdf2")]
    [InlineData("sha512")]
    public async Task A_password_file_written_by_mosquitto_passwd_is_read_as_a_store(string algorithm)
    {
        var folder = Directory.CreateTempSubdirectory("telemetry-it-mosquitto-passwd-").FullName;
        var file = Path.Combine(folder, "passwd");
        var (created, output) = await RunAsync("mosquitto_passwd", ["-H", algorithm, "-c", "-b", file, "legacy-1", "legacy secret ü"]);
        Assert.True(created == 0, $"mosquitto_passwd exited {created}: {output}");

        var entries = Telemetry.Domain.Identity.CredentialFile.Parse(await File.ReadAllTextAsync(file, Ct));
        var entry = entries["legacy-1"];
        Assert.True(entry.Hash.Verify("legacy secret ü"));
        Assert.False(entry.Hash.Verify("legacy secret u"));
        Assert.True(entry.Hash.IsWeak, "mosquitto's hashes are below the iterations telemetry-admin writes");
        Assert.Equal(0, await AdminAsync("devices", "list", "--store", file));
    }

    static async Task<int> AdminAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await AdminCli.InvokeAsync(args, TextReader.Null, output, error);
        Assert.True(code == 0, $"telemetry-admin {string.Join(' ', args)} exited {code}: {error}");
        return code;
    }

    static Process Start(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        TestContext.Current.CancellationToken.Register(() =>
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        });
        return process;
    }

    static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args)
    {
        using var process = Start(file, args);
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
