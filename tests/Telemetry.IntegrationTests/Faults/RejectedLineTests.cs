using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace Telemetry.IntegrationTests.Faults;

/// <summary>A batch holding one line InfluxDB rejects: the rest is written, that line is dead-lettered with InfluxDB's reason.</summary>
public sealed class RejectedLineTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task One_rejected_line_is_dead_lettered_and_the_good_lines_around_it_are_written()
    {
        await using var rig = await FaultRig.StartAsync([], Ct);
        var runId = $"rej-{Guid.NewGuid():N}"[..12];
        var ts = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds();

        // The field 'conflict' already exists as an integer in this shard: InfluxDB will refuse a float for it.
        await rig.Influx.WriteAsync("campus", $"telemetry,building=faults,room=r1,sensor={runId}-seed conflict=1i {ts - 5000}", cancellationToken: Ct);

        // Hold InfluxDB so that all readings end up in one batch, then let it go.
        rig.Influx.Process.Freeze();
        using var client = await rig.Service.ConnectAsync($"{runId}-dev", cancellationToken: Ct);
        try
        {
            for (var i = 0; i < 200; i++)
            {
                var json = i == 100
                    ? $"{{\"ts\":{ts + i},\"conflict\":2.5}}"
                    : $"{{\"ts\":{ts + i},\"temperature\":{i}.5}}";
                var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic($"campus/faults/r1/{runId}-dev/telemetry")
                    .WithPayload(Encoding.UTF8.GetBytes(json))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build(), Ct);
                Assert.True(result.IsSuccess);
            }
        }
        finally
        {
            rig.Influx.Process.Thaw();
        }

        var good = await Poll.UntilAsync(
            "the 199 good readings in InfluxDB",
            () => rig.Influx.CountAsync("campus", "telemetry", "temperature", $"sensor = '{runId}-dev'", Ct),
            n => n >= 199, TimeSpan.FromSeconds(60), cancellationToken: Ct);
        Assert.Equal(199, good);

        var deadLetterDirectory = Path.Combine(rig.Service.SpoolPath, "dead-letter");
        var entries = await Poll.UntilAsync(
            "a dead-letter entry for the rejected line",
            () => Task.FromResult(Directory.Exists(deadLetterDirectory)
                ? Directory.GetFiles(deadLetterDirectory, "*.jsonl").SelectMany(File.ReadAllLines).ToList()
                : []),
            lines => lines.Count > 0, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        var entry = Assert.Single(entries);
        using var doc = JsonDocument.Parse(entry);
        Assert.Contains("conflict=2.5", doc.RootElement.GetProperty("Line").GetString(), StringComparison.Ordinal);
        Assert.Equal(400, doc.RootElement.GetProperty("Status").GetInt32());
        Assert.Contains("conflict", doc.RootElement.GetProperty("Error").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, await Stored.MetricAsync(rig.Service.Http, "telemetry_influx_lines_deadlettered_total", Ct));
        Assert.Equal(0, await rig.Influx.CountAsync("campus", "telemetry", "conflict", $"sensor = '{runId}-dev'", Ct));
    }
}
