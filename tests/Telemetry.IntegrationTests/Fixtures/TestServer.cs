using System.Net;
using System.Net.Sockets;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>What a kind of test server is, before any instance exists.</summary>
/// <param name="Name">Short name: the process name in messages, the log file (<c>Name.log</c>), the config file (<c>Name.conf</c>) and the temp folder's prefix.</param>
/// <param name="ExecutablePath">Absolute path of the server binary.</param>
/// <param name="AptPackage">The Debian package that installs it, named when it is missing.</param>
/// <param name="PortCount">How many free loopback ports one instance needs (the first is <see cref="TestServer.Port"/>).</param>
public sealed record TestServerKind(string Name, string ExecutablePath, string AptPackage, int PortCount = 1);

/// <summary>Where one instance lives: its fresh temp folder and its free loopback ports.</summary>
public sealed record TestServerSite(string Directory, IReadOnlyList<int> Ports);

/// <summary>
/// A real server for the integration tests and the benchmarks, on free loopback ports, in a fresh temp folder that is
/// deleted on dispose. A subclass says only what differs between servers: its command line, its config file and its
/// readiness probe. This base writes the config, starts the process (<see cref="ServerProcess"/>: log file, readiness
/// deadline, stop, kill, freeze), starts again on fresh ports when another process took one in the meantime, and
/// cleans up.
/// </summary>
/// <remarks>
/// A new server is a subclass with a <see cref="TestServerKind"/>, a constructor taking the <see cref="TestServerSite"/>,
/// <c>public static Task&lt;X&gt; StartAsync(ct) =&gt; StartAsync(Kind, site =&gt; new X(site), ct)</c>, and the three
/// overrides <see cref="CommandLine"/>, <see cref="ConfigFile"/> (optional) and <see cref="IsReadyAsync"/>.
/// </remarks>
public abstract class TestServer : IAsyncDisposable, IDisposable
{
    /// <summary>A start that fails because a port was taken is tried again this often, with fresh ports.</summary>
    const int MaxStartAttempts = 3;

    readonly TestServerKind kind;
    ServerProcess? process;

    protected TestServer(TestServerKind kind, TestServerSite site)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(site);
        this.kind = kind;
        Directory = site.Directory;
        Ports = site.Ports;
        LogPath = Path.Combine(Directory, $"{kind.Name}.log");
        ConfigPath = Path.Combine(Directory, $"{kind.Name}.conf");
    }

    /// <summary>The first of <see cref="Ports"/>: the one clients connect to.</summary>
    public int Port => Ports[0];

    /// <summary>The free loopback ports this instance was started on (kept across restarts).</summary>
    public IReadOnlyList<int> Ports { get; }

    /// <summary>The temp folder holding config, log and data.</summary>
    public string Directory { get; }

    /// <summary>The config file, written before the first start when <see cref="ConfigFile"/> gives one (restarts reuse it).</summary>
    public string ConfigPath { get; }

    /// <summary>The server's stdout and stderr, appended across restarts.</summary>
    public string LogPath { get; }

    /// <summary>The process: Stop/Kill/StartAsync/RestartAsync (same data, same ports), Freeze/Thaw, Pid.</summary>
    public ServerProcess Process => process ?? throw new InvalidOperationException($"{kind.Name} has not been started.");

    public int Pid => Process.Pid;

    /// <summary>
    /// Creates an instance in a fresh temp folder on fresh ports and starts it; when the start fails because one of
    /// its ports was taken in the meantime (the unavoidable race of <see cref="FreePort"/>), disposes it and tries again.
    /// </summary>
    protected static async Task<TServer> StartAsync<TServer>(TestServerKind kind, Func<TestServerSite, TServer> create, CancellationToken cancellationToken)
        where TServer : TestServer
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(create);
        ServerProcess.RequireExecutable(kind.ExecutablePath, kind.AptPackage);
        for (var attempt = 1; ; attempt++)
        {
            var directory = System.IO.Directory.CreateTempSubdirectory($"telemetry-it-{kind.Name}-").FullName;
            var server = create(new TestServerSite(directory, FreePort.GetMany(kind.PortCount)));
            try
            {
                await server.LaunchAsync(cancellationToken);
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

    /// <summary>The arguments after the executable, the same for every start.</summary>
    protected abstract IEnumerable<string> CommandLine();

    /// <summary>The contents of <see cref="ConfigPath"/>, or null when the server takes no config file.</summary>
    protected virtual string? ConfigFile() => null;

    /// <summary>Runs once before the first start, after the config file is written (e.g. creating a database cluster).</summary>
    protected virtual Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Readiness probe, polled until true; an exception counts as "not ready yet" (and is reported at the deadline).</summary>
    protected abstract Task<bool> IsReadyAsync(CancellationToken cancellationToken);

    /// <summary>True when a TCP connection to <paramref name="port"/> on 127.0.0.1 is accepted: the probe of servers without a health endpoint.</summary>
    protected static async Task<bool> AcceptsTcpAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        return true;
    }

    /// <summary>Deletes a temp folder, retrying briefly while a just-killed process still holds files; never fails a test run.</summary>
    public static void DeleteDirectory(string directory)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (System.IO.Directory.Exists(directory))
                {
                    System.IO.Directory.Delete(directory, recursive: true);
                }

                return;
            }
            catch (Exception ex) when ((ex is IOException or UnauthorizedAccessException) && attempt < 5)
            {
                Thread.Sleep(100);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Leaving a temp folder behind must not fail a test run.
                return;
            }
        }
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    public ValueTask DisposeAsync()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>Kills the process and deletes the temp folder; a subclass disposes its clients first, then calls this.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            process?.Dispose();
            DeleteDirectory(Directory);
        }
    }

    async Task LaunchAsync(CancellationToken cancellationToken)
    {
        if (ConfigFile() is { } config)
        {
            await File.WriteAllTextAsync(ConfigPath, config, cancellationToken);
        }

        await PrepareAsync(cancellationToken);

        process = new ServerProcess(kind.Name, kind.ExecutablePath, kind.AptPackage, CommandLine(), Directory, LogPath, IsReadyAsync);
        await process.StartAsync(cancellationToken);
    }
}

/// <summary>A <see cref="TestServer"/> with an HTTP API on <see cref="TestServer.Port"/>: its base address, a client, and GET/POST helpers.</summary>
public abstract class HttpTestServer : TestServer
{
    protected HttpTestServer(TestServerKind kind, TestServerSite site)
        : base(kind, site)
    {
        Url = new Uri($"http://127.0.0.1:{Port}");
        Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>HTTP base address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Url { get; }

    /// <summary>Client with <see cref="Url"/> as base address and a 30 s timeout.</summary>
    public HttpClient Http { get; }

    /// <summary>
    /// True when GET /ping answers 204 within <paramref name="timeout"/> (the endpoint InfluxDB clients use); false on
    /// timeout, refused connection or any other status (e.g. while stopped or frozen).
    /// </summary>
    public async Task<bool> PingAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            return await AnswersAsync("ping", HttpStatusCode.NoContent, cts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>True when GET <paramref name="path"/> answers <paramref name="status"/>.</summary>
    protected async Task<bool> AnswersAsync(string path, HttpStatusCode status, CancellationToken cancellationToken)
    {
        using var response = await Http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
        return response.StatusCode == status;
    }

    /// <summary>POSTs line protocol to <paramref name="pathAndQuery"/>; throws with the answer's body unless it is 204.</summary>
    protected async Task PostLinesAsync(string pathAndQuery, string lineProtocol, CancellationToken cancellationToken)
    {
        using var content = new StringContent(lineProtocol, System.Text.Encoding.UTF8, "text/plain");
        using var response = await Http.PostAsync(new Uri(pathAndQuery, UriKind.Relative), content, cancellationToken);
        if (response.StatusCode != HttpStatusCode.NoContent)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"Write to {GetType().Name} failed with {(int)response.StatusCode}: {body}");
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Http.Dispose();
        }

        base.Dispose(disposing);
    }
}
