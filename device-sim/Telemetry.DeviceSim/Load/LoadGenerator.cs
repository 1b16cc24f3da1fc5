using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Telemetry.DeviceSim.Load;

/// <summary>
/// A load generator for benchmarks: opens <see cref="LoadOptions.Connections"/> MQTT connections (each its own
/// sensor <c>{RunId}-c{i}</c>), publishes from each with <see cref="LoadOptions.Inflight"/> publishes in flight for
/// the warm-up and the measured window, then waits for outstanding PUBACKs and disconnects. In
/// <see cref="LoadOptions.Idle"/> mode it only holds the connections. Works against any MQTT broker.
/// </summary>
public sealed class LoadGenerator
{
    const int MaxConcurrentDisconnects = 256;

    public LoadGenerator(LoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        RunId = options.RunId ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    }

    public LoadOptions Options { get; }

    /// <summary>The run id in use: <see cref="LoadOptions.RunId"/> or 8 random hex digits.</summary>
    public string RunId { get; }

    /// <summary>The (first) sensor id of connection <paramref name="index"/> (0-based).</summary>
    public string SensorId(int index) => $"{RunId}-c{index}";

    /// <summary>Sensor <paramref name="k"/> (0-based) of connection <paramref name="index"/>: <c>{RunId}-c{index}</c>, then <c>…-s{k}</c>.</summary>
    public string SensorId(int index, int k) => k == 0 ? SensorId(index) : $"{RunId}-c{index}-s{k}";

    /// <summary>The topic connection <paramref name="index"/> publishes to.</summary>
    public string Topic(int index) => $"{Options.TopicPrefix}/{SensorId(index)}/telemetry";

    /// <summary>
    /// Runs the load. Cancelling <paramref name="cancellationToken"/> stops it early but gracefully (drain, disconnect):
    /// a result is still returned, not an <see cref="OperationCanceledException"/>.
    /// </summary>
    public Task<LoadResult> RunAsync(IProgress<LoadSample>? progress = null, CancellationToken cancellationToken = default) =>
        RunAsync(progress, windowEdge: null, cancellationToken);

    /// <summary>
    /// As <see cref="RunAsync(IProgress{LoadSample}?, CancellationToken)"/>; <paramref name="windowEdge"/> is told
    /// <see cref="LoadPhase.Measuring"/> when the measured window opens and <see cref="LoadPhase.Draining"/> when
    /// publishing stops (its end), on a timer thread, so that a caller can sample other processes' CPU over exactly the
    /// window whose acknowledgements are counted.
    /// </summary>
    public async Task<LoadResult> RunAsync(IProgress<LoadSample>? progress, Action<LoadPhase>? windowEdge, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var run = new LoadRun(Options, RunId);
        var connections = CreateConnections(run);
        var reporter = new LoadReporter(run, connections, started, progress);
        using var stopReporting = new CancellationTokenSource();
        var reporting = reporter.RunAsync(stopReporting.Token);
        double connectSeconds = 0;
        try
        {
            run.Phase = LoadPhase.Connecting;
            await ConnectAllAsync(connections, cancellationToken);
            connectSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (!cancellationToken.IsCancellationRequested && run.Established > 0)
            {
                await (Options.Idle ? HoldAsync(run, cancellationToken) : PublishAsync(run, connections, windowEdge, cancellationToken));
            }

            run.Phase = LoadPhase.Disconnecting;
            await Parallel.ForEachAsync(connections, new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentDisconnects },
                async (connection, _) => await connection.CloseAsync());
        }
        finally
        {
            await stopReporting.CancelAsync();
            await reporting;
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }

        reporter.Report(LoadPhase.Done);
        return Summarise(run, connections, connectSeconds, reporter.Timeline);
    }

    LoadConnection[] CreateConnections(LoadRun run)
    {
        var factory = new MqttClientFactory();
        var connections = new LoadConnection[Options.Connections];
        for (var i = 0; i < connections.Length; i++)
        {
            var source = Options.SourceAddresses.Count == 0 ? null : Options.SourceAddresses[i % Options.SourceAddresses.Count];
            var sensorId = SensorId(i);
            var topics = new string[Options.SensorsPerConnection];
            for (var k = 0; k < topics.Length; k++)
            {
                topics[k] = $"{Options.TopicPrefix}/{SensorId(i, k)}/telemetry";
            }

            connections[i] = new LoadConnection(run, factory.CreateMqttClient(), ClientOptions(sensorId, source, run.Payload.Capacity), sensorId, topics);
        }

        return connections;
    }

    MqttClientOptions ClientOptions(string clientId, IPAddress? source, int messageCapacity)
    {
        var builder = new MqttClientOptionsBuilder();
        builder = IPAddress.TryParse(Options.Host, out var address)
            ? builder.WithEndPoint(new IPEndPoint(address, Options.Port))
            : builder.WithTcpServer(Options.Host, Options.Port);
        builder
            .WithClientId(clientId)
            .WithProtocolVersion(Options.ProtocolVersion)
            .WithCleanSession()
            .WithKeepAlivePeriod(Options.KeepAlive)
            .WithTimeout(Options.ConnectTimeout)
            // One socket write (one TCP segment with no-delay) per PUBLISH, not header and payload apart: half the syscalls.
            .WithoutPacketFragmentation();
        if (Options.Username is not null)
        {
            builder.WithCredentials(Options.Username, Options.Password);
        }

        var options = builder.Build();
        if (options.ChannelOptions is not MqttClientTcpOptions tcp)
        {
            return options;
        }

        // MQTTnet sets both socket buffers to BufferSize (8 KiB by default). A message much larger than the send buffer
        // then crawls (delayed ACKs: a 64 KiB message took ~90 ms on loopback), so the buffer holds a few messages.
        tcp.BufferSize = Math.Max(tcp.BufferSize, Math.Min(4 << 20, 4 * (messageCapacity + 64)));
        if (source is not null)
        {
            // MqttClientOptionsBuilder has no setter for the local end point; the TCP channel binds to it before connecting.
            tcp.AddressFamily = source.AddressFamily;
            tcp.LocalEndpoint = new IPEndPoint(source, 0);
        }

        return options;
    }

    /// <summary>At most <see cref="LoadOptions.ConnectRate"/> new connections a second, <see cref="LoadOptions.MaxConcurrentConnects"/> at once.</summary>
    async Task ConnectAllAsync(LoadConnection[] connections, CancellationToken cancellationToken)
    {
        using var gate = new SemaphoreSlim(Options.MaxConcurrentConnects);
        var attempts = new List<Task>(connections.Length);
        var started = Stopwatch.GetTimestamp();
        try
        {
            for (var i = 0; i < connections.Length; i++)
            {
                var ahead = TimeSpan.FromSeconds(i / Options.ConnectRate) - Stopwatch.GetElapsedTime(started);
                if (ahead >= TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(ahead, cancellationToken);
                }

                await gate.WaitAsync(cancellationToken);
                attempts.Add(ConnectAsync(connections[i], gate, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cancelled while connecting: the run ends with the connections made so far.
        }

        await Task.WhenAll(attempts);

        static async Task ConnectAsync(LoadConnection connection, SemaphoreSlim gate, CancellationToken cancellationToken)
        {
            try
            {
                await connection.ConnectAsync(cancellationToken);
            }
            finally
            {
                gate.Release();
            }
        }
    }

    async Task PublishAsync(LoadRun run, LoadConnection[] connections, Action<LoadPhase>? windowEdge, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var drain = new CancellationTokenSource();
        var windowStart = Stopwatch.GetTimestamp() + Ticks(Options.Warmup);
        run.OpenWindow(windowStart, windowStart + Ticks(Options.Duration));
        run.Phase = Options.Warmup > TimeSpan.Zero ? LoadPhase.WarmingUp : LoadPhase.Measuring;
        using var drainAfterStop = stop.Token.Register(() =>
        {
            run.Stopped();
            run.Phase = LoadPhase.Draining;
            drain.CancelAfter(Options.DrainTimeout);
            windowEdge?.Invoke(LoadPhase.Draining);
        });
        using var windowOpens = windowEdge is null ? null : new Timer(_ => windowEdge(LoadPhase.Measuring), null, Options.Warmup, Timeout.InfiniteTimeSpan);
        stop.CancelAfter(Options.Warmup + Options.Duration);

        var loops = new Task[connections.Length];
        for (var i = 0; i < connections.Length; i++)
        {
            loops[i] = connections[i].PublishAsync(stop.Token, drain.Token);
        }

        await Task.WhenAll(loops);
        run.Stopped();
    }

    async Task HoldAsync(LoadRun run, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        run.OpenWindow(start, start + Ticks(Options.Duration));
        run.Phase = LoadPhase.Holding;
        try
        {
            await Task.Delay(Options.Duration, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cancelled: disconnect now.
        }

        run.Stopped();
    }

    LoadResult Summarise(LoadRun run, LoadConnection[] connections, double connectSeconds, IReadOnlyList<LoadSample> timeline)
    {
        long sent = 0, readingsSent = 0, acked = 0, readingsAcked = 0, measured = 0, measuredReadings = 0, failed = 0, refused = 0;
        var slots = new List<LatencySlot>(Options.Idle ? 0 : connections.Length * Options.Inflight);
        foreach (var connection in connections)
        {
            sent += connection.MessagesSent;
            readingsSent += connection.MessagesSent * Options.ReadingsPerMessage;
            acked += connection.MessagesAcked;
            readingsAcked += connection.ReadingsAcked;
            measured += connection.MeasuredMessages;
            measuredReadings += connection.MeasuredReadings;
            failed += connection.Failed;
            refused += connection.Refused;
            slots.AddRange(connection.LatencySlots);
        }

        var windowSeconds = WindowSeconds(run);
        var unacknowledged = Options.Qos == MqttQualityOfServiceLevel.AtMostOnce ? 0 : sent - acked - refused;
        var established = run.Established;
        return new LoadResult
        {
            RunId = RunId,
            Mode = Options.Idle ? "idle" : "publish",
            Broker = $"{Options.Host}:{Options.Port}",
            Mqtt = Options.ProtocolVersion == MqttProtocolVersion.V500 ? "5" : "3.1.1",
            Connections = Options.Connections,
            ConnectionsEstablished = established,
            ConnectFailures = run.ConnectFailures,
            ConnectionsLost = run.Lost,
            PeakConnected = run.PeakConnected,
            ConnectSeconds = Math.Round(connectSeconds, 3),
            WarmupSeconds = Options.Idle ? 0 : Options.Warmup.TotalSeconds,
            DurationSeconds = Math.Round(windowSeconds, 3),
            Qos = (int)Options.Qos,
            Inflight = Options.Inflight,
            PayloadBytes = Options.PayloadBytes,
            MessageBytes = run.MessageBytes,
            ReadingsPerMessage = Options.ReadingsPerMessage,
            MessagesSent = sent,
            ReadingsSent = readingsSent,
            MessagesAcked = acked,
            ReadingsAcked = readingsAcked,
            MessagesRefused = refused,
            MessagesUnacknowledged = unacknowledged,
            MeasuredMessagesAcked = measured,
            MeasuredReadingsAcked = measuredReadings,
            AckedPerSecond = windowSeconds > 0 ? Math.Round(measured / windowSeconds, 1) : 0,
            ReadingsPerSecond = windowSeconds > 0 ? Math.Round(measuredReadings / windowSeconds, 1) : 0,
            LatencyMs = run.Latency.Summarize(slots),
            Failures = run.Failures,
            Warnings = run.Warnings,
            Succeeded = established == Options.Connections && run.Lost == 0 && failed == 0 && refused == 0 && unacknowledged == 0,
            Timeline = timeline,
        };
    }

    /// <summary>The measured window as it happened: from its start to its end or to the stop, whichever came first.</summary>
    static double WindowSeconds(LoadRun run)
    {
        if (run.WindowStart == long.MaxValue)
        {
            return 0;
        }

        var end = run.StoppedAt == 0 ? run.WindowEnd : Math.Min(run.StoppedAt, run.WindowEnd);
        return Math.Max(0, end - run.WindowStart) / (double)Stopwatch.Frequency;
    }

    static long Ticks(TimeSpan duration) => (long)(duration.TotalSeconds * Stopwatch.Frequency);
}
