using System.Net;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// The service as its own OS process (<c>dotnet Telemetry.Service.dll</c> from this test's output folder), so that
/// it can be SIGKILLed and started again on the same spool and ports.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    readonly string directory;

    readonly HttpClient probe;

    ServiceProcess(string directory, ServerProcess process, int mqttPort, Uri httpUrl, string spoolPath, HttpClient probe)
    {
        this.directory = directory;
        this.probe = probe;
        Process = process;
        MqttPort = mqttPort;
        HttpUrl = httpUrl;
        SpoolPath = spoolPath;
        Http = new HttpClient { BaseAddress = httpUrl, Timeout = TimeSpan.FromSeconds(10) };
    }

    public ServerProcess Process { get; }

    public int MqttPort { get; }

    public Uri HttpUrl { get; }

    public string SpoolPath { get; }

    public HttpClient Http { get; }

    /// <summary>The dotnet host that runs this process (so children use the same runtime), else /usr/bin/dotnet.</summary>
    public static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
        ? host
        : "/usr/bin/dotnet";

    /// <summary>Starts the service in a fresh temp folder and waits until <c>/health/live</c> answers.</summary>
    public static Task<ServiceProcess> StartAsync(IEnumerable<string> settings, CancellationToken ct) =>
        StartAsync(settings, "health/live", parentDirectory: null, ct);

    /// <param name="settings">Configuration as <c>--Section:Key=value</c>; later ones win over the defaults here.</param>
    /// <param name="readyPath">The HTTP path that must answer 200 before the service counts as started.</param>
    /// <param name="parentDirectory">Where its folder (spool, log) goes; a fresh temp folder when null.</param>
    /// <param name="ct">Cancels the start.</param>
    public static async Task<ServiceProcess> StartAsync(IEnumerable<string> settings, string readyPath, string? parentDirectory, CancellationToken ct)
    {
        var directory = parentDirectory is null
            ? Directory.CreateTempSubdirectory("telemetry-it-service-").FullName
            : Directory.CreateDirectory(Path.Combine(parentDirectory, $"service-{Guid.NewGuid():N}")).FullName;
        var spoolPath = Path.Combine(directory, "spool");
        var ports = FreePort.GetMany(4);
        var httpUrl = new Uri($"http://127.0.0.1:{ports[1]}/");
        var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) }; // kept for restarts; disposed with the service
        var process = new ServerProcess(
            "telemetry-service",
            DotnetHost,
            "dotnet-sdk-10.0",
            [
                Path.Combine(AppContext.BaseDirectory, "Telemetry.Service.dll"),
                $"--Urls={httpUrl}",
                $"--Broker:Port={ports[0]}",
                $"--Orleans:SiloPort={ports[2]}",
                $"--Orleans:GatewayPort={ports[3]}",
                $"--Spool:Path={spoolPath}",
                "--Serilog:MinimumLevel:Default=Information",
                .. settings,
            ],
            directory,
            Path.Combine(directory, "service.log"),
            async token =>
            {
                using var response = await probe.GetAsync(new Uri(httpUrl, readyPath), token);
                return response.StatusCode == HttpStatusCode.OK;
            },
            TimeSpan.FromSeconds(60));
        var service = new ServiceProcess(directory, process, ports[0], httpUrl, spoolPath, probe);
        try
        {
            await process.StartAsync(ct);
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }

        return service;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        probe.Dispose();
        Process.Stop();
        Process.Dispose();
        if (File.Exists(Process.LogPath))
        {
            File.Copy(Process.LogPath, Path.Combine(Path.GetTempPath(), "telemetry-it-last-service.log"), overwrite: true);
        }

        await Task.CompletedTask;
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
