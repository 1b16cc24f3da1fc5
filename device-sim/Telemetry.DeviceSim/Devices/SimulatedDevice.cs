using System.Diagnostics;
using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.DeviceSim.Behaviours;
using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Mqtt;
using Telemetry.DeviceSim.Scenarios;
using Telemetry.DeviceSim.Time;

namespace Telemetry.DeviceSim.Devices;

/// <summary>What every device of a run shares: options, the simulated clock and the wall time since the run started.</summary>
sealed record RunContext(SimulatorOptions Options, SimulationClock Clock, Stopwatch Wall, TimeZoneInfo CampusTimeZone, SimulationCounters Counters)
{
    /// <summary>In a backfill run, the simulated time it ends at (exclusive); <c>null</c> when paced by the wall clock.</summary>
    public DateTimeOffset? BackfillEnd { get; init; }

    public DateTimeOffset SimulatedNow => Clock.SimulatedAt(Wall.Elapsed);
}

/// <summary>
/// One sensor on its own connection. It samples on a fixed grid of simulated times (its kind's interval, from a random
/// phase), so its readings depend on the seed only, never on scheduling. Every reading goes to the local store; while
/// connected the device publishes the store (one reading, or <see cref="SimulatorOptions.ReadingsPerMessage"/>, a
/// message; a backlog after an outage as batches), awaiting each publish so its order holds. Without network
/// (scenario connectivity loss) it disconnects and keeps sampling into the store; when offline (fault) it disconnects,
/// and readings due meanwhile are not taken.
/// </summary>
sealed class SimulatedDevice : IDisposable
{
    static readonly TimeSpan MaxConnectJitter = TimeSpan.FromMilliseconds(50);

    readonly SensorInfo _sensor;
    readonly ISensorBehaviour _behaviour;
    readonly DeviceConnection _connection;
    readonly RunContext _run;
    readonly SimulatorOptions _options;
    readonly SensorFaults _faults;
    readonly Random _random;
    readonly TimeSpan _interval;
    readonly ReadingStore _store;
    readonly DeviceClock _clock;
    readonly ConnectivityPlan _network;
    IReadOnlyDictionary<string, double>? _lastMetrics;
    bool _withoutNetwork;
    long _malformed;

    public SimulatedDevice(SensorInfo sensor, ISensorBehaviour behaviour, DeviceConnection connection, RunContext run,
        TimeSpan interval, SensorFaults faults, Random random)
    {
        _sensor = sensor;
        _behaviour = behaviour;
        _connection = connection;
        _run = run;
        _options = run.Options;
        _faults = faults;
        _random = random;
        _interval = interval;
        _store = new ReadingStore(_options.StoreCapacity);
        _clock = new DeviceClock(DeviceClock.DrawSkew(random, _options.Behaviour.ClockSkewMax));
        _network = new ConnectivityPlan(_options.Behaviour, random, run.Clock.Start);
        Tally = new SensorTally(sensor, _options.RecordAcknowledgedReadings);
    }

    public SensorTally Tally { get; }
    public bool IsConnected => _connection.IsConnected;
    public bool EverConnected => _connection.EverConnected;

    /// <summary>The simulated time up to which the device has taken its readings.</summary>
    public DateTimeOffset Reached { get; private set; }

    /// <summary>
    /// Runs until <paramref name="stop"/> fires; a publish in flight then still gets until <paramref name="drain"/>
    /// fires to be acknowledged. Failures are counted, never thrown.
    /// </summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken drain)
    {
        try
        {
            var next = _run.Clock.Start + _interval * _random.NextDouble();
            Reached = _run.Clock.Start;
            await Task.Delay(MaxConnectJitter * _random.NextDouble(), stop);
            await _connection.ConnectAsync(stop);
            if (_run.BackfillEnd is { } end)
            {
                await BackfillAsync(next, end, stop, drain);
                return;
            }

            while (true)
            {
                var wait = _run.Clock.WallOffsetOf(next) - _run.Wall.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, stop);
                }

                var now = _run.SimulatedNow;
                for (; next <= now; next += _interval)
                {
                    Take(next);
                }

                await DeliverAsync(now, flush: false, stop, drain);
                Reached = now;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping is how every run ends; readings still in the store were never sent.
        }
        finally
        {
            _run.Counters.Dropped(_store.Dropped);
            await _connection.DisconnectAsync();
        }
    }

    public void Dispose() => _connection.Dispose();

    /// <summary>
    /// Backfill: takes the readings of [start of run, <paramref name="end"/>) without waiting for the wall clock, a
    /// message's worth (<see cref="SimulatorOptions.ReadingsPerMessage"/>) at a time, each message awaiting its
    /// acknowledgement before the next, so the broker's acknowledgements pace the run; the last partial message is
    /// sent at the end.
    /// </summary>
    async Task BackfillAsync(DateTimeOffset next, DateTimeOffset end, CancellationToken stop, CancellationToken drain)
    {
        var perMessage = _options.ReadingsPerMessage;
        while (next < end)
        {
            stop.ThrowIfCancellationRequested();
            var taken = next;
            for (var i = 0; i < perMessage && next < end; i++, next += _interval)
            {
                taken = next;
                Take(next);
            }

            Reached = next < end ? next : end;
            await DeliverAsync(taken, flush: next >= end, stop, drain);
        }

        Reached = end;
    }

    void Take(DateTimeOffset at)
    {
        var metrics = _behaviour.Sample(TimeZoneInfo.ConvertTime(at, _run.CampusTimeZone));
        if (_faults.IsActive(FaultType.StuckSensor, at) && _lastMetrics is not null)
        {
            metrics = _lastMetrics;
        }

        _lastMetrics = metrics;
        if (_faults.IsActive(FaultType.Offline, at))
        {
            _run.Counters.Skipped();
            return;
        }

        if (_network.InOutage(at))
        {
            _run.Counters.Stored();
        }

        _store.Add(new SensorReading(_clock.Stamp(at), metrics));
    }

    /// <summary>Publishes the store's full messages; with <paramref name="flush"/> also the rest.</summary>
    async Task DeliverAsync(DateTimeOffset now, bool flush, CancellationToken stop, CancellationToken drain)
    {
        var offline = _faults.IsActive(FaultType.Offline, now);
        var withoutNetwork = _network.InOutage(now);
        if (withoutNetwork && !_withoutNetwork)
        {
            _run.Counters.ConnectivityLost();
        }

        _withoutNetwork = withoutNetwork;
        if (offline || withoutNetwork)
        {
            await _connection.DisconnectAsync();
            return;
        }

        if (!_connection.IsConnected)
        {
            await _connection.ConnectAsync(stop);
        }

        var perMessage = _options.ReadingsPerMessage;
        while (_store.Count >= perMessage || (flush && _store.Count > 0))
        {
            // A backlog (after an outage, or when the device fell behind) leaves as larger batches.
            var batch = _store.Count > perMessage ? Math.Min(_store.Count, Math.Max(perMessage, _options.UploadBatchSize)) : _store.Count;
            if (MalformedRate(now) is var rate && rate > 0 && _random.NextDouble() < rate)
            {
                await PublishMalformedAsync(drain);
            }

            await PublishAsync(_store.Take(batch), drain);
        }
    }

    double MalformedRate(DateTimeOffset now) =>
        Math.Max(_options.Behaviour.MalformedRate, _faults.Active(FaultType.MalformedPayloads, now)?.Rate ?? 0);

    /// <summary>Alternately invalid JSON (cut off) and a reading whose metric is not a number.</summary>
    async Task PublishMalformedAsync(CancellationToken drain)
    {
        var ts = _run.SimulatedNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var metric = _lastMetrics?.Keys.FirstOrDefault() ?? "value";
        var payload = _malformed++ % 2 == 0 ? $"{{\"ts\":{ts},\"{metric}\":" : $"{{\"ts\":{ts},\"{metric}\":\"n/a\"}}";
        var message = Message(Encoding.UTF8.GetBytes(payload));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(drain);
        timeout.CancelAfter(_options.AckTimeout);
        _run.Counters.PublishingMalformed();
        try
        {
            var result = await _connection.PublishAsync(message, timeout.Token);
            if (_options.Qos == MqttQualityOfServiceLevel.AtMostOnce)
            {
                return;
            }

            if (result.IsSuccess)
            {
                _run.Counters.AckedMalformed();
            }
            else
            {
                _run.Counters.MalformedWasRefused();
            }
        }
        catch (Exception) when (drain.IsCancellationRequested)
        {
            _run.Counters.PublishAbandoned();
        }
        catch (Exception e)
        {
            _run.Counters.PublishFailed(timeout.IsCancellationRequested ? $"no PUBACK within {_options.AckTimeout.TotalSeconds:0.###}s" : SimulationCounters.Describe(e));
        }
        finally
        {
            _run.Counters.Published();
        }
    }

    MqttApplicationMessage Message(byte[] payload) => new MqttApplicationMessageBuilder()
        .WithTopic(_sensor.Topic)
        .WithPayload(payload)
        .WithQualityOfServiceLevel(_options.Qos)
        .Build();

    async Task PublishAsync(SensorReading[] readings, CancellationToken drain)
    {
        var message = Message(PayloadWriter.Write(readings, _options.Timestamps));
        var counters = _run.Counters;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(drain);
        timeout.CancelAfter(_options.AckTimeout);
        counters.Publishing(readings.Length);
        Tally.Sent(readings.Length);
        try
        {
            var result = await _connection.PublishAsync(message, timeout.Token);
            if (_options.Qos == MqttQualityOfServiceLevel.AtMostOnce)
            {
                return;
            }

            if (result.IsSuccess)
            {
                counters.Acked(readings.Length);
                Tally.Acknowledged(readings);
            }
            else
            {
                counters.Refused(result.ReasonCode);
            }
        }
        // MQTTnet reports a cancelled wait for the PUBACK as MqttCommunicationTimedOutException, so the filters
        // look at which token fired rather than at the exception's type.
        catch (Exception) when (drain.IsCancellationRequested)
        {
            counters.PublishAbandoned();
        }
        catch (Exception) when (timeout.IsCancellationRequested)
        {
            counters.PublishFailed($"no PUBACK within {_options.AckTimeout.TotalSeconds:0.###}s");
        }
        catch (Exception e)
        {
            counters.PublishFailed(SimulationCounters.Describe(e));
        }
        finally
        {
            counters.Published();
        }
    }
}
