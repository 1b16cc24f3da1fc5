using System.Buffers;
using System.Diagnostics;
using MQTTnet;
using MQTTnet.Protocol;

namespace Telemetry.DeviceSim.Load;

/// <summary>
/// One load connection: an MQTT client that is one sensor, with <see cref="LoadOptions.Inflight"/> publish loops
/// sharing it. Each loop owns a payload buffer and an application message it reuses, awaits its PUBACK, records the
/// latency and publishes the next, so at most Inflight publishes of a connection await their PUBACK at once.
/// Readings are numbered per connection (one interlocked add reserves a message's readings); reading n is stamped
/// <see cref="LoadRun.TsBase"/> + n milliseconds, so timestamps are unique and strictly increasing per sensor.
/// Counters are per connection (little contention) and summed by the reporter.
/// </summary>
sealed class LoadConnection : IDisposable
{
    const int MaxConsecutiveFailures = 10;
    static readonly TimeSpan DisconnectTimeout = TimeSpan.FromSeconds(5);

    readonly LoadRun _run;
    readonly IMqttClient _client;
    readonly MqttClientOptions _clientOptions;
    readonly string[] _topics;
    readonly LatencySlot[] _slots;
    long _readingsReserved, _messagesSent, _messagesAcked, _readingsAcked, _measuredMessages, _measuredReadings;
    long _inFlight, _failed, _refused;
    int _state; // 0 never connected, 1 connected, 2 lost, 3 closed

    public LoadConnection(LoadRun run, IMqttClient client, MqttClientOptions clientOptions, string sensorId, string[] topics)
    {
        _run = run;
        _client = client;
        _clientOptions = clientOptions;
        SensorId = sensorId;
        _topics = topics;
        _slots = new LatencySlot[run.Options.Idle ? 0 : run.Options.Inflight];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = run.Latency.CreateSlot();
        }

        _client.DisconnectedAsync += OnDisconnectedAsync;
    }

    public string SensorId { get; }
    public bool IsEstablished => Volatile.Read(ref _state) == 1;
    public IReadOnlyList<LatencySlot> LatencySlots => _slots;

    public long ReadingsReserved => Interlocked.Read(ref _readingsReserved);
    public long MessagesSent => Interlocked.Read(ref _messagesSent);
    public long MessagesAcked => Interlocked.Read(ref _messagesAcked);
    public long ReadingsAcked => Interlocked.Read(ref _readingsAcked);
    public long MeasuredMessages => Interlocked.Read(ref _measuredMessages);
    public long MeasuredReadings => Interlocked.Read(ref _measuredReadings);
    public long InFlight => Interlocked.Read(ref _inFlight);
    public long Failed => Interlocked.Read(ref _failed);
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Up to <see cref="LoadOptions.ConnectAttempts"/> attempts; failures are counted, never thrown.</summary>
    public async Task<bool> ConnectAsync(CancellationToken cancellationToken)
    {
        var options = _run.Options;
        for (var attempt = 1; attempt <= options.ConnectAttempts; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.ConnectTimeout);
            try
            {
                var result = await _client.ConnectAsync(_clientOptions, timeout.Token);
                if (result.ResultCode == MqttClientConnectResultCode.Success)
                {
                    Volatile.Write(ref _state, 1);
                    _run.ConnectionUp();
                    return true;
                }

                _run.ConnectFailed($"refused by the broker: {result.ResultCode}");
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception) when (timeout.IsCancellationRequested)
            {
                _run.ConnectFailed($"no CONNACK within {options.ConnectTimeout.TotalSeconds:0.#}s");
            }
            catch (Exception e)
            {
                _run.ConnectFailed(LoadRun.Describe(e));
            }

            if (attempt < options.ConnectAttempts)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }
        }

        return false;
    }

    /// <summary>Runs the publish loops until <paramref name="stop"/>; a publish still awaiting its PUBACK when <paramref name="drain"/> fires is abandoned.</summary>
    public Task PublishAsync(CancellationToken stop, CancellationToken drain)
    {
        if (!IsEstablished || _slots.Length == 0)
        {
            return Task.CompletedTask;
        }

        var loops = new Task[_slots.Length];
        for (var i = 0; i < loops.Length; i++)
        {
            loops[i] = PublishLoopAsync(_slots[i], stop, drain);
        }

        return Task.WhenAll(loops);
    }

    /// <summary>A clean DISCONNECT if still connected; errors are counted, never thrown.</summary>
    public async Task CloseAsync()
    {
        if (Interlocked.CompareExchange(ref _state, 3, 1) != 1)
        {
            return;
        }

        _run.ConnectionClosed();
        if (!_client.IsConnected)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(DisconnectTimeout);
        try
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptions(), timeout.Token);
        }
        catch (Exception e)
        {
            _run.Failure("disconnect: " + LoadRun.Describe(e));
        }
    }

    public void Dispose()
    {
        _client.DisconnectedAsync -= OnDisconnectedAsync;
        _client.Dispose();
    }

    async Task PublishLoopAsync(LatencySlot slot, CancellationToken stop, CancellationToken drain)
    {
        var run = _run;
        var payload = run.Payload;
        var readings = payload.ReadingsPerMessage;
        var atLeastOnce = run.Options.Qos == MqttQualityOfServiceLevel.AtLeastOnce;
        var buffer = new byte[payload.Capacity];
        var topics = _topics;
        var message = new MqttApplicationMessage { Topic = topics[0], QualityOfServiceLevel = run.Options.Qos };
        var consecutiveFailures = 0;

        // Yield first so that starting thousands of loops does not publish them all on the caller's thread.
        await Task.Yield();
        while (!stop.IsCancellationRequested && Volatile.Read(ref _state) == 1)
        {
            var first = Interlocked.Add(ref _readingsReserved, readings) - readings;
            var length = payload.Write(buffer, run.TsBase + first, first + 1);
            message.Payload = new ReadOnlySequence<byte>(buffer, 0, length);
            if (topics.Length > 1)
            {
                // The connection's sensors take turns, message by message (first / readings numbers the message).
                message.Topic = topics[first / readings % topics.Length];
            }

            if (first == 0)
            {
                run.MessageWritten(length);
            }

            Interlocked.Increment(ref _messagesSent);
            Interlocked.Increment(ref _inFlight);
            var started = Stopwatch.GetTimestamp();
            MqttClientPublishResult result;
            try
            {
                result = await _client.PublishAsync(message, drain);
            }
            catch (Exception e)
            {
                Interlocked.Decrement(ref _inFlight);
                Interlocked.Increment(ref _failed);
                PublishFailed(e, drain);
                if (drain.IsCancellationRequested || !_client.IsConnected || ++consecutiveFailures >= MaxConsecutiveFailures)
                {
                    return;
                }

                // The failed send may still hold the buffer; take a fresh one.
                buffer = new byte[payload.Capacity];
                continue;
            }

            var ended = Stopwatch.GetTimestamp();
            Interlocked.Decrement(ref _inFlight);
            consecutiveFailures = 0;
            if (atLeastOnce && !result.IsSuccess)
            {
                Interlocked.Increment(ref _refused);
                run.Failure($"refused: {result.ReasonCode} (0x{(int)result.ReasonCode:X2})");
                continue;
            }

            Interlocked.Increment(ref _messagesAcked);
            Interlocked.Add(ref _readingsAcked, readings);
            var measured = ended >= run.WindowStart && ended < run.WindowEnd;
            if (measured)
            {
                Interlocked.Increment(ref _measuredMessages);
                Interlocked.Add(ref _measuredReadings, readings);
            }

            run.Latency.Record(slot, ended - started, measured);
        }
    }

    void PublishFailed(Exception e, CancellationToken drain)
    {
        if (drain.IsCancellationRequested)
        {
            _run.Failure("abandoned: no PUBACK when the drain timeout ended");
        }
        else if (!_client.IsConnected)
        {
            _run.Failure("publish: connection lost");
        }
        else
        {
            _run.Failure("publish: " + LoadRun.Describe(e));
        }
    }

    Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        // Connections the run closes itself are in state 3 already.
        if (e.ClientWasConnected && Interlocked.CompareExchange(ref _state, 2, 1) == 1)
        {
            _run.ConnectionLost();
        }

        return Task.CompletedTask;
    }
}
