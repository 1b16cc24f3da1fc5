using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.DeviceSim.Behaviours;
using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Mqtt;

namespace Telemetry.DeviceSim.Devices;

/// <summary>
/// One sensor on its own connection: connects, waits a random phase so devices do not publish in lockstep, then
/// takes a reading every interval and publishes each full batch, awaiting every publish so its order holds.
/// </summary>
sealed class SimulatedDevice(SensorInfo sensor, ISensorBehaviour behaviour, DeviceConnection connection,
    SimulatorOptions options, SimulationCounters counters, Random random) : IDisposable
{
    static readonly TimeSpan MaxConnectJitter = TimeSpan.FromMilliseconds(50);

    readonly List<SensorReading> _buffer = new(options.ReadingsPerMessage);
    long _lastTimestamp;

    public SensorTally Tally { get; } = new(sensor, options.RecordAcknowledgedReadings);
    public bool IsConnected => connection.IsConnected;
    public bool EverConnected => connection.EverConnected;

    /// <summary>
    /// Runs until <paramref name="stop"/> fires; a publish in flight then still gets until <paramref name="drain"/>
    /// fires to be acknowledged. Failures are counted, never thrown.
    /// </summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken drain)
    {
        try
        {
            await Task.Delay(MaxConnectJitter * random.NextDouble(), stop);
            await connection.ConnectAsync(stop);
            await Task.Delay(options.Interval * random.NextDouble(), stop);

            using var timer = new PeriodicTimer(options.Interval);
            do
            {
                await SampleAsync(stop, drain);
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping is how every run ends; readings still buffered were never sent.
        }
        finally
        {
            await connection.DisconnectAsync();
        }
    }

    public void Dispose() => connection.Dispose();

    async Task SampleAsync(CancellationToken stop, CancellationToken drain)
    {
        // Whole milliseconds, strictly increasing per sensor: every reading has a distinct timestamp.
        _lastTimestamp = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), _lastTimestamp + 1);
        var at = DateTimeOffset.FromUnixTimeMilliseconds(_lastTimestamp);
        _buffer.Add(new SensorReading(at, behaviour.Sample(TimeZoneInfo.ConvertTime(at, TimeZoneInfo.Local))));
        if (_buffer.Count < options.ReadingsPerMessage)
        {
            return;
        }

        if (!connection.IsConnected)
        {
            await connection.ConnectAsync(stop);
        }

        SensorReading[] readings = [.. _buffer];
        _buffer.Clear();
        await PublishAsync(readings, drain);
    }

    async Task PublishAsync(SensorReading[] readings, CancellationToken drain)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(sensor.Topic)
            .WithPayload(PayloadWriter.Write(readings, options.Timestamps))
            .WithQualityOfServiceLevel(options.Qos)
            .Build();

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(drain);
        timeout.CancelAfter(options.AckTimeout);
        counters.Publishing(readings.Length);
        Tally.Sent(readings.Length);
        try
        {
            var result = await connection.PublishAsync(message, timeout.Token);
            if (options.Qos == MqttQualityOfServiceLevel.AtMostOnce)
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
            counters.PublishFailed($"no PUBACK within {options.AckTimeout.TotalSeconds:0.###}s");
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
