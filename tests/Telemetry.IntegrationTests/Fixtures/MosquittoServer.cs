using System.Net;
using System.Net.Sockets;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// A real mosquitto 2.0 MQTT broker (<c>/usr/sbin/mosquitto</c>, Debian package <c>mosquitto</c>)
/// on a free loopback port, anonymous, without persistence, in a fresh temp folder deleted on dispose.
/// </summary>
/// <remarks>
/// The broker logs to stderr, which <see cref="ServerProcess"/> appends to mosquitto.log in the temp
/// folder. "log_dest file" is not used on purpose: started as root (as here and in CI), mosquitto drops
/// privileges to the "mosquitto" user after reading its config and can then no longer open a log file
/// inside the 0700 temp folder ("Unable to open log file"); the inherited stderr keeps working.
/// </remarks>
public sealed class MosquittoServer : IAsyncDisposable, IDisposable
{
    public const string ExecutablePath = "/usr/sbin/mosquitto";
    public const string AptPackage = "mosquitto";

    private const int MaxStartAttempts = 3;

    private MosquittoServer(string directory, int port, string extraConfig)
    {
        Directory = directory;
        Port = port;
        ConfigPath = Path.Combine(directory, "mosquitto.conf");
        LogPath = Path.Combine(directory, "mosquitto.log");
        File.WriteAllText(
            ConfigPath,
            $"""
            # Written by Telemetry.IntegrationTests.Fixtures.MosquittoServer for mosquitto 2.0.
            per_listener_settings false
            listener {port} 127.0.0.1
            allow_anonymous true
            persistence false
            log_dest stderr
            log_type error
            log_type warning
            log_type notice
            log_type information
            log_type subscribe
            log_type unsubscribe
            log_timestamp true
            log_timestamp_format %Y-%m-%dT%H:%M:%S
            connection_messages true
            {extraConfig}

            """);
        Process = new ServerProcess(
            "mosquitto",
            ExecutablePath,
            AptPackage,
            ["-c", ConfigPath],
            directory,
            LogPath,
            async ct =>
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, ct);
                return true;
            });
    }

    /// <summary>Always 127.0.0.1.</summary>
    public string Host { get; } = "127.0.0.1";

    public int Port { get; }

    /// <summary>mqtt://127.0.0.1:port</summary>
    public Uri Url => new($"mqtt://{Host}:{Port}");

    /// <summary>The temp folder holding config and log.</summary>
    public string Directory { get; }

    public string ConfigPath { get; }

    public string LogPath { get; }

    /// <summary>The mosquitto process: Stop/Kill/StartAsync (same port), Freeze/Thaw, Pid.</summary>
    public ServerProcess Process { get; }

    public int Pid => Process.Pid;

    /// <summary>Starts mosquitto in a fresh temp folder and waits until its port accepts TCP connections.</summary>
    public static Task<MosquittoServer> StartAsync(CancellationToken cancellationToken = default) => StartAsync("", cancellationToken);

    /// <param name="extraConfig">More mosquitto.conf lines, e.g. limits for a benchmark baseline.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<MosquittoServer> StartAsync(string extraConfig, CancellationToken cancellationToken = default)
    {
        ServerProcess.RequireExecutable(ExecutablePath, AptPackage);
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Get();
            var directory = System.IO.Directory.CreateTempSubdirectory("telemetry-it-mosquitto-").FullName;
            var server = new MosquittoServer(directory, port, extraConfig);
            try
            {
                await server.Process.StartAsync(cancellationToken);
                return server;
            }
            catch (ServerStartException ex) when (ex.AddressInUse && attempt < MaxStartAttempts)
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    public void Dispose()
    {
        Process.Dispose();
        InfluxDbServer.DeleteDirectory(Directory);
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
