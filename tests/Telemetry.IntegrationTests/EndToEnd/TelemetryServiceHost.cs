using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using Telemetry.IntegrationTests.Fixtures;
using Telemetry.Service.Hosting;

namespace Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// The real service (silo, broker, write pipeline, HTTP) started in this process on free loopback ports, pointed at
/// a real InfluxDB-speaking server. Waits until <c>/health/ready</c> answers 200.
/// </summary>
public sealed class TelemetryServiceHost : IAsyncDisposable
{
    readonly WebApplication app;

    TelemetryServiceHost(WebApplication app, int mqttPort, Uri httpUrl, string spoolPath)
    {
        this.app = app;
        SpoolPath = spoolPath;
        MqttPort = mqttPort;
        HttpUrl = httpUrl;
        Http = new HttpClient { BaseAddress = httpUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    public int MqttPort { get; }

    public Uri HttpUrl { get; }

    public HttpClient Http { get; }

    /// <summary>The spool directory (a fresh temp folder unless the settings name one).</summary>
    public string SpoolPath { get; }

    public IServiceProvider Services => app.Services;

    public static Task<TelemetryServiceHost> StartAsync(IEnumerable<string> settings, CancellationToken cancellationToken, string? spoolPath = null,
        Action<IServiceCollection>? overrides = null) =>
        StartAsync(_ => settings, cancellationToken, spoolPath, overrides);

    /// <param name="settings">The settings, given the HTTP URL the host chose (e.g. to name it again as a Kestrel endpoint, which overrides <c>Urls</c>).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <param name="spoolPath">The spool directory; a fresh temp folder when null.</param>
    /// <param name="overrides">Service registrations applied after the service's own (e.g. a writer that observes the spool's appends).</param>
    public static async Task<TelemetryServiceHost> StartAsync(Func<Uri, IEnumerable<string>> settings, CancellationToken cancellationToken, string? spoolPath = null,
        Action<IServiceCollection>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var ports = FreePort.GetMany(4);
        spoolPath ??= Directory.CreateTempSubdirectory("telemetry-it-spool-").FullName;
        var httpUrl = new Uri($"http://127.0.0.1:{ports[1]}/");
        string[] args =
        [
            $"--Urls={httpUrl}",
            $"--Broker:Port={ports[0]}",
            $"--Orleans:SiloPort={ports[2]}",
            $"--Orleans:GatewayPort={ports[3]}",
            $"--Orleans:ClusterId=test-{Guid.NewGuid():N}",
            "--Serilog:MinimumLevel:Default=Warning",
            "--Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime=Warning",
            "--Serilog:MinimumLevel:Override:Orleans=Error",
            $"--Spool:Path={spoolPath}",
            $"--Campus:StatePath={Path.Combine(spoolPath, "state")}",
            .. settings(httpUrl),
        ];
        var app = TelemetryApp.Build(args, overrides);
        await app.StartAsync(cancellationToken);
        var host = new TelemetryServiceHost(app, ports[0], httpUrl, spoolPath);
        try
        {
            await host.WaitUntilReadyAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    async Task WaitUntilReadyAsync(TimeSpan within, CancellationToken cancellationToken) =>
        await Poll.UntilAsync(
            "the service to answer 200 on /health/ready",
            async () =>
            {
                using var response = await Http.GetAsync(new Uri("health/ready", UriKind.Relative), cancellationToken);
                return (response.StatusCode, Body: await response.Content.ReadAsStringAsync(cancellationToken));
            },
            ready => ready.StatusCode == HttpStatusCode.OK,
            within,
            every: TimeSpan.FromMilliseconds(50),
            cancellationToken: cancellationToken);

    /// <summary>A connected MQTT client of this service's broker.</summary>
    public async Task<IMqttClient> ConnectAsync(string? clientId, MqttProtocolVersion version = MqttProtocolVersion.V311, CancellationToken cancellationToken = default)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", MqttPort)
            .WithClientId(clientId ?? "")
            .WithProtocolVersion(version)
            .WithCleanSession(true)
            .WithTimeout(TimeSpan.FromSeconds(30))
            .Build();
        var result = await client.ConnectAsync(options, cancellationToken);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            client.Dispose();
            throw new InvalidOperationException($"connect refused: {result.ResultCode} {result.ReasonString}");
        }

        return client;
    }

    /// <summary>Refused-message totals by reason, from <c>GET /api/refusals</c>.</summary>
    public async Task<Dictionary<string, long>> RefusalTotalsAsync(CancellationToken cancellationToken)
    {
        var json = await Http.GetStringAsync(new Uri("api/refusals", UriKind.Relative), cancellationToken);
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("totals").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StopAsync(timeout.Token);
        await app.DisposeAsync();
        if (SpoolPath.Contains("telemetry-it-spool-", StringComparison.Ordinal))
        {
            Directory.Delete(SpoolPath, recursive: true);
        }
    }
}
