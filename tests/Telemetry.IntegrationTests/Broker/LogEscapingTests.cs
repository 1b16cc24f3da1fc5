using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Broker;

/// <summary>
/// Client-chosen names reach the service's log escaped (no forged lines from a client id holding CR/LF), and refusal
/// lines are throttled by reason, so rotating client ids cannot flood the log. Read from the real process's output.
/// </summary>
public sealed class LogEscapingTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_client_id_with_CR_LF_is_logged_escaped_and_rotating_ids_get_one_refusal_line_per_reason()
    {
        // No InfluxDB is needed: refused messages never reach storage.
        await using var service = await ServiceProcess.StartAsync(
            ["--Influx:Api=V1", "--Influx:Url=http://127.0.0.1:9", "--Influx:Database=campus"], Ct);
        var run = $"{Guid.NewGuid():N}"[..8];
        const int rotations = 5;

        for (var i = 0; i < rotations; i++)
        {
            // The first id tries to forge a log line of its own.
            var clientId = i == 0 ? $"evil-{run}\r\n[00:00:00.000 ERR] Forged-{run}" : $"rot-{run}-{i}";
            using var client = new MqttClientFactory().CreateMqttClient();
            await client.ConnectAsync(new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", service.MqttPort).WithClientId(clientId)
                .WithProtocolVersion(MqttProtocolVersion.V500).WithCleanSession(true).Build(), Ct);
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic($"devices/{run}/data").WithPayload("{\"temperature\":1}"u8.ToArray())
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
            Assert.Equal(MqttClientPublishReasonCode.TopicNameInvalid, result.ReasonCode);
        }

        var log = await Poll.UntilAsync(
            "the refusal of the CR/LF client id in the service log",
            () => ReadLogAsync(service.Process.LogPath),
            text => text.Contains($"evil-{run}", StringComparison.Ordinal),
            cancellationToken: Ct);

        Assert.Contains($"evil-{run}\\u000D\\u000A[00:00:00.000 ERR] Forged-{run}", log, StringComparison.Ordinal);
        var lines = log.Split('\n');
        Assert.DoesNotContain(lines, l => l.StartsWith($"[00:00:00.000 ERR] Forged-{run}", StringComparison.Ordinal));

        // Five client ids, one reason, well within the 10 s throttle interval: one line, not five.
        var refusalLines = lines.Count(l => l.Contains("Refused a message from", StringComparison.Ordinal) && l.Contains($"devices/{run}/data", StringComparison.Ordinal));
        Assert.Equal(1, refusalLines);
        Assert.DoesNotContain(lines, l => l.Contains($"rot-{run}-", StringComparison.Ordinal) && l.Contains("Refused a message", StringComparison.Ordinal));
    }

    static async Task<string> ReadLogAsync(string path)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(file);
        return await reader.ReadToEndAsync(Ct);
    }
}
