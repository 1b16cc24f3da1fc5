using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Contracts;
using Telemetry.Grains.Alerts;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;

namespace Telemetry.IntegrationTests.Alerts;

/// <summary>
/// Quiet windows in the outbox (the real service in this process, a real HTTP receiver): a notification about an
/// alert a window covers is counted as suppressed and not sent; one about an alert it does not cover is sent.
/// </summary>
[Collection(InfluxDbFixture.CollectionName)]
public sealed class AlertOutboxQuietWindowTests(InfluxDbFixture influx)
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    const string Registry = """
        campus: { id: oq, name: Quiet windows, timezone: Europe/Berlin }
        kinds:
          thermo:
            interval: 60s
            metrics:
              temperature: { unit: "°C" }
            alerts:
              - { id: too-warm, type: threshold, metric: temperature, above: 50, hysteresis: 1, severity: warning }
        buildings:
          - id: qb
            name: Quiet building
            rooms:
              - id: r1
                type: lab
                capacity: 4
                sensors:
                  - { id: oq-quiet, kind: thermo }
                  - { id: oq-loud, kind: thermo }
        """;

    [Fact]
    public async Task A_quiet_window_suppresses_the_notifications_of_the_sensor_it_covers_and_no_other()
    {
        var directory = Directory.CreateTempSubdirectory("telemetry-it-outbox-quiet-").FullName;
        try
        {
            var registry = Path.Combine(directory, "campus.yaml");
            await File.WriteAllTextAsync(registry, Registry, Ct);
            await using var receiver = await WebhookReceiver.StartAsync(Ct);
            await using var service = await TelemetryServiceHost.StartAsync(
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", $"--Influx:Database={InfluxDbFixture.Database}",
                $"--Campus:RegistryPath={registry}",
                "--Alerts:Webhooks:0:Name=quiet-test", $"--Alerts:Webhooks:0:Url={receiver.Url}",
            ], Ct, spoolPath: Path.Combine(directory, "spool"));

            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var grains = service.Services.GetRequiredService<IGrainFactory>();
            await grains.GetGrain<IQuietWindowGrain>(QuietWindowGrain.Key).Add(new QuietWindow(
                "maintenance-1", null, "oq-quiet", now - 60_000, now + 3_600_000, null, AlertSeverity.Critical, "freezer maintenance", "test", now));

            // In order: the covered sensor's raise first, so once the other one's arrives the first was decided.
            await PublishAsync(service, "oq-quiet", 61);
            await Poll.UntilAsync("the quiet sensor's alert in the index", async () => await service.Http.GetFromJsonAsync<JsonElement>("api/alerts", Ct),
                a => a.EnumerateArray().Any(x => x.GetProperty("sensor").GetString() == "oq-quiet"), TimeSpan.FromSeconds(60), cancellationToken: Ct);
            await PublishAsync(service, "oq-loud", 61);

            await Poll.UntilAsync(
                "the loud sensor's raised step at the webhook",
                () => Task.FromResult(receiver.Calls),
                c => c.Any(call => call.Body.GetProperty("sensor").GetString() == "oq-loud"),
                TimeSpan.FromSeconds(60),
                show: c => $"[{string.Join(", ", c.Select(call => call.IdempotencyKey))}]",
                cancellationToken: Ct);
            Assert.DoesNotContain(receiver.Attempts, c => c.Body.GetProperty("sensor").GetString() == "oq-quiet");

            var status = await grains.GetGrain<IAlertOutboxGrain>("quiet-test").GetStatus();
            Assert.Equal((1L, 1L, 0), (status.Suppressed, status.Delivered, status.Pending));
            var metrics = await service.Http.GetStringAsync(new Uri("metrics", UriKind.Relative), Ct);
            Assert.Equal(1, PrometheusText.Sum(metrics, "telemetry_alerts_notifications_total", "outcome=\"suppressed\""));
        }
        finally
        {
            TestServer.DeleteDirectory(directory);
        }
    }

    static async Task PublishAsync(TelemetryServiceHost service, string sensor, double temperature)
    {
        using var device = await service.ConnectAsync(sensor, cancellationToken: Ct);
        var result = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"campus/qb/r1/{sensor}/telemetry")
            .WithPayload($$"""{"temperature":{{temperature}}}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        Assert.True(result.IsSuccess, result.ReasonString);
        await device.DisconnectAsync(cancellationToken: Ct);
    }
}
