using System.Net.Http.Json;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.IntegrationTests.EndToEnd;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Service.Security;

namespace Telemetry.IntegrationTests.TechnicianConsole;

/// <summary>
/// The real service in this process with its API secured by two API keys (a technician, a viewer) and InfluxDB 1.6
/// behind it; a registry of freezers in two buildings whose readings raise a critical <c>freezer-fault</c> (any
/// non-zero <c>fault</c>) and a warning <c>freezer-too-warm</c> (temperature above −15 °C).
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public const string CollectionName = "console";
    public const string FaultRule = "freezer-fault";
    public const string WarmRule = "freezer-too-warm";

    InfluxDbServer? influx;
    TelemetryServiceHost? service;
    string? directory;

    public NewApiKey Technician { get; } = ApiKeys.Create("night shift", ApiRoles.Technician);

    public NewApiKey Viewer { get; } = ApiKeys.Create("wallboard", ApiRoles.Viewer);

    public TelemetryServiceHost Service => service ?? throw new InvalidOperationException("not started");

    public InfluxDbServer Influx => influx ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        try
        {
            directory = Directory.CreateTempSubdirectory("telemetry-it-console-").FullName;
            var registry = Path.Combine(directory, "campus.yaml");
            await File.WriteAllTextAsync(registry, Registry, ct);
            influx = await InfluxDbServer.StartAsync(ct);
            await influx.CreateDatabaseAsync("campus", ct);
            service = await TelemetryServiceHost.StartAsync(
            [
                "--Influx:Api=V1", $"--Influx:Url={influx.Url}", "--Influx:Database=campus",
                $"--Campus:RegistryPath={registry}",
                .. Key(0, Technician), .. Key(1, Viewer),
            ], ct);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    static IEnumerable<string> Key(int index, NewApiKey key) =>
        [$"--Api:Keys:{index}:Name={key.Name}", $"--Api:Keys:{index}:Role={key.Role}", $"--Api:Keys:{index}:Hash={key.Hash}"];

    const string Registry = """
        campus:
          id: console-campus
          name: Console test campus
          timezone: UTC
        unregistered: refuse
        kinds:
          freezer:
            interval: 60s
            metrics:
              temperature: { unit: "°C" }
              fault: { unit: "code" }
            alerts:
              - { id: freezer-fault, type: fault-code, metric: fault, severity: critical }
              - { id: freezer-too-warm, type: threshold, metric: temperature, above: -15, severity: warning }
        buildings:
          - id: chem
            rooms:
              - id: lab-2
                sensors:
                  - { id: chem-lab2-freezer1, kind: freezer }
                  - { id: chem-lab2-freezer2, kind: freezer }
                  - { id: chem-lab2-freezer3, kind: freezer }
                  - { id: chem-lab2-freezer4, kind: freezer }
          - id: bio
            rooms:
              - id: cold-room
                sensors:
                  - { id: bio-cold-freezer1, kind: freezer }
                  - { id: bio-cold-freezer2, kind: freezer }

        """;

    /// <summary>Publishes one reading of <paramref name="sensor"/> (QoS 1, acknowledged by the broker).</summary>
    public async Task PublishAsync(string building, string room, string sensor, double temperature, int fault, CancellationToken ct)
    {
        using var client = await Service.ConnectAsync($"{sensor}-device", cancellationToken: ct);
        var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"campus/{building}/{room}/{sensor}/telemetry")
            .WithPayload(FormattableString.Invariant($$"""{"temperature": {{temperature}}, "fault": {{fault}}}"""))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), ct);
        Assert.True(result.IsSuccess, $"the reading of {sensor} was refused: {result.ReasonCode} {result.ReasonString}");
        await client.DisconnectAsync(cancellationToken: ct);
    }

    /// <summary>The alert of <paramref name="sensor"/> and <paramref name="rule"/> from <c>GET /api/alerts</c> (the technician's key), or null.</summary>
    public async Task<JsonElement?> ActiveAlertAsync(string sensor, string rule, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("api/alerts", UriKind.Relative));
        request.Headers.Add(ApiKeyAuthenticationHandler.HeaderName, Technician.Key);
        using var response = await Service.Http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        foreach (var alert in (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).EnumerateArray())
        {
            if (alert.GetProperty("sensor").GetString() == sensor && alert.GetProperty("rule").GetString() == rule)
            {
                return alert;
            }
        }

        return null;
    }

    /// <summary>Waits until the alert is active; returns its id.</summary>
    public async Task<string> WaitForAlertAsync(string sensor, string rule, CancellationToken ct)
    {
        var alert = await Poll.UntilAsync($"the {rule} alert of {sensor} to be active",
            () => ActiveAlertAsync(sensor, rule, ct), a => a is not null, within: TimeSpan.FromSeconds(60), cancellationToken: ct);
        return alert!.Value.GetProperty("id").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        if (service is not null)
        {
            await service.DisposeAsync();
            service = null;
        }

        if (influx is not null)
        {
            await influx.DisposeAsync();
            influx = null;
        }

        if (directory is not null)
        {
            TestServer.DeleteDirectory(directory);
            directory = null;
        }
    }
}

[CollectionDefinition(ConsoleFixture.CollectionName)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>;
