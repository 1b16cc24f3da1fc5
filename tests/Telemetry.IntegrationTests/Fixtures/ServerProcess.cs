using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// A server process for integration tests: started with fixed arguments, its stdout and stderr
/// appended to a log file, polled until ready, and killable, stoppable, restartable (same
/// arguments, so same data folder and port), freezable (SIGSTOP) and thawable (SIGCONT).
/// </summary>
/// <remarks>
/// The process is launched as <c>/bin/sh -c 'exec "$@" &gt;&gt;log 2&gt;&amp;1 &lt;/dev/null'</c>: the shell
/// replaces itself with the server, so <see cref="Pid"/> is the server's own pid and the
/// output goes straight to the log file without pipes through the test host (a frozen or
/// chatty server can never block on a full pipe).
/// </remarks>
public sealed class ServerProcess : IDisposable
{
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    private static readonly ConcurrentDictionary<ServerProcess, byte> Live = new();

    private readonly string[] _arguments;
    private readonly Func<CancellationToken, Task<bool>> _isReady;
    private readonly Lock _gate = new();
    private Process? _process;
    private int _lastPid;
    private int _starts;
    private bool _disposed;

    static ServerProcess()
    {
        // Last line of defence when the test host exits without disposing its fixtures.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var server in Live.Keys)
            {
                server.Kill();
            }
        };
    }

    /// <param name="name">Short name for messages, e.g. "influxd".</param>
    /// <param name="executable">Absolute path of the server binary.</param>
    /// <param name="aptPackage">Debian package that installs <paramref name="executable"/>, named in the error when it is missing.</param>
    /// <param name="arguments">Command-line arguments, used unchanged for every start.</param>
    /// <param name="workingDirectory">Working directory (the server's temp folder).</param>
    /// <param name="logPath">File that receives the server's stdout and stderr (appended across restarts).</param>
    /// <param name="isReady">Readiness probe; polled until it returns true. Exceptions count as "not ready".</param>
    /// <param name="startTimeout">Deadline for readiness; 30 s when null.</param>
    public ServerProcess(
        string name,
        string executable,
        string aptPackage,
        IEnumerable<string> arguments,
        string workingDirectory,
        string logPath,
        Func<CancellationToken, Task<bool>> isReady,
        TimeSpan? startTimeout = null)
    {
        Name = name;
        Executable = RequireExecutable(executable, aptPackage);
        _arguments = [.. arguments];
        WorkingDirectory = workingDirectory;
        LogPath = logPath;
        _isReady = isReady;
        StartTimeout = startTimeout ?? TimeSpan.FromSeconds(30);
    }

    public string Name { get; }

    public string Executable { get; }

    public IReadOnlyList<string> Arguments => _arguments;

    public string WorkingDirectory { get; }

    public string LogPath { get; }

    public TimeSpan StartTimeout { get; }

    /// <summary>Pid of the running server, or of the last one when stopped.</summary>
    public int Pid => _lastPid != 0 ? _lastPid : throw new InvalidOperationException($"{Name} has not been started.");

    /// <summary>True while the process exists (also when frozen).</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _process is { HasExited: false };
            }
        }
    }

    /// <summary>True between <see cref="Freeze"/> and <see cref="Thaw"/>.</summary>
    public bool IsFrozen { get; private set; }

    /// <summary>How long the first successful <see cref="StartAsync"/> took from spawn until ready.</summary>
    public TimeSpan FirstStartDuration { get; private set; }

    /// <summary>How long the last successful <see cref="StartAsync"/> took from spawn until ready.</summary>
    public TimeSpan LastStartDuration { get; private set; }

    /// <summary>How many times the process was spawned.</summary>
    public int StartCount => _starts;

    /// <summary>
    /// Fails with a message naming the apt package when <paramref name="executable"/> does not exist.
    /// </summary>
    public static string RequireExecutable(string executable, string aptPackage)
    {
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"{executable} was not found. Install it with: apt-get install -y {aptPackage}");
        }

        return executable;
    }

    /// <summary>
    /// Starts the server and polls its readiness probe until it answers or the deadline passes.
    /// Also used to start it again after <see cref="Stop"/> or <see cref="Kill"/>, with the same
    /// arguments (same data folder, same port).
    /// </summary>
    /// <exception cref="ServerStartException">The server exited or did not become ready in time; the message holds the log tail.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        Process process;
        lock (_gate)
        {
            if (_process is { HasExited: false })
            {
                throw new InvalidOperationException($"{Name} is already running (pid {_process.Id}).");
            }

            _process?.Dispose();
            _starts++;
            File.AppendAllText(
                LogPath,
                $"===== fixture: start #{_starts} at {DateTimeOffset.UtcNow:O}: {Executable} {string.Join(' ', _arguments)}{Environment.NewLine}");

            var startInfo = new ProcessStartInfo("/bin/sh")
            {
                UseShellExecute = false,
                WorkingDirectory = WorkingDirectory,
            };
            startInfo.ArgumentList.Add("-c");
            startInfo.ArgumentList.Add("log=$1; shift; exec \"$@\" >>\"$log\" 2>&1 </dev/null");
            startInfo.ArgumentList.Add(Name);
            startInfo.ArgumentList.Add(LogPath);
            startInfo.ArgumentList.Add(Executable);
            foreach (var argument in _arguments)
            {
                startInfo.ArgumentList.Add(argument);
            }

            process = Process.Start(startInfo)
                ?? throw new InvalidOperationException($"Could not start {Executable}.");
            _process = process;
            _lastPid = process.Id;
            IsFrozen = false;
            Live.TryAdd(this, 0);
        }

        var clock = Stopwatch.StartNew();
        try
        {
            Readiness state;
            try
            {
                state = await Poll.UntilAsync(
                    $"{Name} (pid {process.Id}) to pass its readiness probe", ReadinessAsync, s => s != Readiness.Starting, StartTimeout,
                    cancellationToken: cancellationToken);
            }
            catch (TimeoutException ex)
            {
                throw Failure($"{Name} (pid {process.Id}) was not ready within {StartTimeout.TotalSeconds:0.#} s: {ex.Message}");
            }

            if (state == Readiness.Exited)
            {
                throw Failure($"{Name} exited with code {process.ExitCode} before it was ready");
            }

            LastStartDuration = clock.Elapsed;
            if (FirstStartDuration == TimeSpan.Zero)
            {
                FirstStartDuration = LastStartDuration;
            }
        }
        catch
        {
            Kill();
            throw;
        }

        async Task<Readiness> ReadinessAsync()
        {
            if (process.HasExited)
            {
                return Readiness.Exited;
            }

            var ready = await ProbeAsync(cancellationToken);

            // HasExited again after a successful probe: if the port was taken by someone else in the
            // meantime, the probe may have been answered by that process while ours is dying.
            return process.HasExited ? Readiness.Exited : ready ? Readiness.Ready : Readiness.Starting;
        }
    }

    /// <summary>Stops the server if it runs, then starts it again on the same arguments.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        Stop();
        await StartAsync(cancellationToken);
    }

    /// <summary>Brings the server back to normal after a fault test: thaws it, or starts it when it is not running.</summary>
    public async Task EnsureRunningAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            if (IsFrozen)
            {
                Thaw();
            }

            return;
        }

        await StartAsync(cancellationToken);
    }

    /// <summary>
    /// Graceful stop: SIGTERM (and SIGCONT, in case it is frozen), then SIGKILL to the whole
    /// process tree when it has not exited within <paramref name="gracePeriod"/> (10 s when null).
    /// Does nothing when the server is not running.
    /// </summary>
    public void Stop(TimeSpan? gracePeriod = null)
    {
        var process = CurrentProcess();
        if (process is null)
        {
            return;
        }

        Signal(process.Id, SigTerm);
        Signal(process.Id, SigCont);
        IsFrozen = false;
        if (!process.WaitForExit(gracePeriod ?? TimeSpan.FromSeconds(10)))
        {
            Kill();
        }

        process.WaitForExit();
    }

    /// <summary>Abrupt stop (a crash): SIGKILL to the whole process tree, no flushing.</summary>
    public void Kill()
    {
        var process = CurrentProcess();
        if (process is null)
        {
            return;
        }

        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exited meanwhile.
        }

        process.WaitForExit(TimeSpan.FromSeconds(10));
        IsFrozen = false;
    }

    /// <summary>
    /// SIGSTOP: the process keeps its sockets (connects still succeed, the kernel queues them) but
    /// answers nothing. Returns once every thread of the process is in the stopped state.
    /// </summary>
    public void Freeze()
    {
        var process = CurrentProcess() ?? throw new InvalidOperationException($"{Name} is not running.");
        Signal(process.Id, SigStop);
        IsFrozen = true;
        WaitForThreadStates(process.Id, stopped: true);
    }

    /// <summary>SIGCONT: resumes a frozen server. Returns once no thread of the process is stopped any more.</summary>
    public void Thaw()
    {
        var process = CurrentProcess() ?? throw new InvalidOperationException($"{Name} is not running.");
        Signal(process.Id, SigCont);
        IsFrozen = false;
        WaitForThreadStates(process.Id, stopped: false);
    }

    /// <summary>The last <paramref name="lines"/> lines of the server's log.</summary>
    public string ReadLogTail(int lines = 40)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            const int MaxBytes = 64 * 1024;
            if (stream.Length > MaxBytes)
            {
                stream.Seek(-MaxBytes, SeekOrigin.End);
            }

            using var reader = new StreamReader(stream, Encoding.UTF8);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines + 1)).TrimEnd();
        }
        catch (IOException ex)
        {
            return $"(could not read {LogPath}: {ex.Message})";
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Kill();
        lock (_gate)
        {
            _process?.Dispose();
            _process = null;
        }

        Live.TryRemove(this, out _);
    }

    /// <summary>One readiness probe, cut off after 2 s; its exceptions reach the poll, which reports the last one at the deadline.</summary>
    private async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        using var probeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        probeTimeout.CancelAfter(TimeSpan.FromSeconds(2));
        return await _isReady(probeTimeout.Token);
    }

    private ServerStartException Failure(string what)
    {
        // Give a dying process a moment to finish writing its last words.
        Thread.Sleep(50);
        var tail = ReadLogTail();
        var addressInUse = tail.Contains("address already in use", StringComparison.OrdinalIgnoreCase);
        return new ServerStartException(
            $"{what}. Log {LogPath}, last lines:{Environment.NewLine}{tail}",
            tail,
            addressInUse);
    }

    /// <summary>
    /// Signals are delivered asynchronously; wait (bounded) until every thread in /proc/pid/task
    /// reports the wanted state ('T' = stopped), so a frozen server is really frozen on return.
    /// </summary>
    private void WaitForThreadStates(int pid, bool stopped)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            try
            {
                var all = true;
                foreach (var task in System.IO.Directory.EnumerateDirectories($"/proc/{pid}/task"))
                {
                    if (IsStopped(File.ReadAllText(Path.Combine(task, "stat"))) != stopped)
                    {
                        all = false;
                        break;
                    }
                }

                if (all)
                {
                    return;
                }
            }
            catch (IOException)
            {
                return; // The process (or a thread) is gone.
            }

            Thread.Sleep(2);
        }

        throw new InvalidOperationException(
            $"{Name} (pid {pid}) did not become {(stopped ? "stopped" : "running")} within 5 s.");

        // /proc/<pid>/task/<tid>/stat: "tid (comm) S ..."; comm may contain spaces and ')'.
        static bool IsStopped(string stat)
        {
            var end = stat.LastIndexOf(')');
            var state = end >= 0 && end + 2 < stat.Length ? stat[end + 2] : '?';
            return state is 'T' or 't';
        }
    }

    private Process? CurrentProcess()
    {
        lock (_gate)
        {
            return _process is { HasExited: false } process ? process : null;
        }
    }

    private void Signal(int pid, int signal)
    {
        if (NativeMethods.Kill(pid, signal) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            // ESRCH (3): the process is already gone.
            if (errno != 3)
            {
                throw new InvalidOperationException($"kill({pid}, {signal}) for {Name} failed with errno {errno}.");
            }
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Kill(int pid, int signal);
    }
}

/// <summary>Where a starting server stands, as its readiness poll sees it.</summary>
internal enum Readiness
{
    Starting,
    Ready,
    Exited,
}

/// <summary>A server did not start: it exited early or missed its readiness deadline.</summary>
public sealed class ServerStartException : Exception
{
    public ServerStartException()
    {
    }

    public ServerStartException(string message)
        : base(message)
    {
    }

    public ServerStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ServerStartException(string message, string logTail, bool addressInUse)
        : base(message)
    {
        LogTail = logTail;
        AddressInUse = addressInUse;
    }

    /// <summary>The last lines of the server's log.</summary>
    public string LogTail { get; } = "";

    /// <summary>True when the log says a port was taken (another process grabbed it); retry with fresh ports.</summary>
    public bool AddressInUse { get; }
}
