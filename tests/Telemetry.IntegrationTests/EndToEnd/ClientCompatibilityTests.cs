using System.Diagnostics;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Telemetry.IntegrationTests.EndToEnd;

/// <summary>The connections common device clients make by default are accepted, and their readings land.</summary>
[Collection(ServiceOnInfluxV1Fixture.CollectionName)]
public sealed class ClientCompatibilityTests(ServiceOnInfluxV1Fixture fixture)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_device_with_an_empty_client_id_and_a_clean_session_is_accepted(MqttProtocolVersion version)
    {
        var sensor = $"anon-{version}-{Guid.NewGuid():N}"[..20];
        using var client = await fixture.Service.ConnectAsync(clientId: null, version, Ct);
        var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"campus/compat/r1/{sensor}/telemetry")
            .WithPayload("{\"temperature\":22.5}"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), Ct);
        Assert.True(result.IsSuccess, $"{result.ReasonCode} {result.ReasonString}");
        Assert.Equal(1, await Poll.UntilAsync(
            $"the reading of {sensor} in InfluxDB",
            () => fixture.Influx.CountAsync(ServiceOnInfluxV1Fixture.Database, "telemetry", "temperature", $"sensor = '{sensor}'", Ct),
            n => n >= 1, cancellationToken: Ct));
    }

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task Mosquitto_pub_can_publish_and_its_readings_land(string protocol)
    {
        var sensor = $"mosq-{protocol}-{Guid.NewGuid():N}"[..22];
        var payload = $$"""{"ts":{{DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds()}},"temperature":18.5,"humidity":44}""";
        var (exitCode, output) = await RunAsync("mosquitto_pub",
            ["-h", "127.0.0.1", "-p", fixture.Service.MqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "-V", protocol, "-q", "1", "-t", $"campus/compat/r2/{sensor}/telemetry", "-m", payload]);
        Assert.True(exitCode == 0, $"mosquitto_pub exited {exitCode}: {output}");

        var series = await Poll.UntilAsync(
            $"the mosquitto_pub reading of {sensor} in InfluxDB",
            () => fixture.Influx.QueryAsync(ServiceOnInfluxV1Fixture.Database, $"SELECT temperature, humidity FROM telemetry WHERE sensor = '{sensor}'", Ct),
            found => found.Count > 0, cancellationToken: Ct);
        var s = Assert.Single(series);
        Assert.Equal(18.5, s.Get(0, "temperature").GetDouble());
        Assert.Equal(44, s.Get(0, "humidity").GetDouble());
    }

    static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
