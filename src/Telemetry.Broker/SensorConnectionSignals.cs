using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;

namespace Telemetry.Broker;

/// <summary>
/// Tells sensors' grains that their device connected, disconnected or sent an <c>offline</c> status, off the MQTT
/// packet path: in a cluster the grain may live on another node, and neither a CONNACK nor a PUBACK may wait on a call
/// to another node (docs/operations.md#running-as-a-cluster). Signals go into one of <see cref="Lanes"/> bounded queues
/// chosen by the sensor id, so one sensor's signals stay in order; each lane calls its grains one at a time.
/// A signal that finds its lane full, or is still queued when the service stops, or whose grain call fails, is
/// dropped, counted (<c>telemetry_broker_connection_signals_dropped_total{reason}</c>) and logged: these signals only
/// hasten what silence shows anyway (a sensor that stops reporting goes offline on its own clock).
/// </summary>
public sealed class SensorConnectionSignals(IGrainFactory grains, TelemetryMetrics metrics, TimeProvider time, ILogger<SensorConnectionSignals> logger)
    : BackgroundService
{
    /// <summary>Queues, each served by its own loop; a sensor's signals always use the same one.</summary>
    public const int Lanes = 8;

    /// <summary>Signals waiting per lane at most (a reconnect storm of a whole campus fits several times).</summary>
    public const int LaneCapacity = 20_000;

    static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    readonly Channel<Signal>[] lanes = [.. Enumerable.Range(0, Lanes).Select(_ => Channel.CreateBounded<Signal>(
        new BoundedChannelOptions(LaneCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait }))];

    readonly LogThrottle logThrottle = new(LogInterval, time, maxKeys: 8);

    public enum Kind
    {
        Connected,
        Disconnected,
    }

    readonly record struct Signal(string Sensor, Kind Kind, long AtMs, string ClientId);

    /// <summary>Queues one signal per sensor; never waits.</summary>
    public void Post(IEnumerable<string> sensors, Kind kind, long atMs, string clientId)
    {
        ArgumentNullException.ThrowIfNull(sensors);
        foreach (var sensor in sensors)
        {
            if (!lanes[LaneOf(sensor)].Writer.TryWrite(new Signal(sensor, kind, atMs, clientId)))
            {
                Dropped("queue_full", $"its queue holds {LaneCapacity} signals", sensor);
            }
        }
    }

    /// <summary>Signals waiting in all lanes (tests and diagnostics).</summary>
    public int Pending => lanes.Sum(l => l.Reader.Count);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(lanes.Select(lane => Task.Run(() => ServeAsync(lane.Reader, stoppingToken), CancellationToken.None)));

    async Task ServeAsync(ChannelReader<Signal> reader, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var signal in reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    var grain = grains.GetGrain<ISensorGrain>(signal.Sensor);
                    await (signal.Kind == Kind.Connected ? grain.Connected(signal.AtMs) : grain.Disconnected(signal.AtMs));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
                {
                    Dropped("grain_error", ex.Message, signal.Sensor);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            var left = 0;
            while (reader.TryRead(out _))
            {
                left++;
            }

            if (left > 0)
            {
                metrics.ConnectionSignalsDropped.Add(left, new KeyValuePair<string, object?>("reason", "stopping"));
                logger.LogInformation("{Count} connection signal(s) to sensor grains not delivered: the service is stopping", left);
            }
        }
    }

    void Dropped(string reason, string detail, string sensor)
    {
        metrics.ConnectionSignalsDropped.Add(1, new KeyValuePair<string, object?>("reason", reason));
        if (logThrottle.ShouldLog(reason, out var suppressed))
        {
            logger.LogWarning("A connection signal for sensor {Sensor} was not delivered ({Reason}: {Detail}); only silence will show it offline ({Suppressed} others for this reason not logged in the last {Interval})",
                Text.ForLog(sensor), reason, detail, suppressed, LogInterval);
        }
    }

    static int LaneOf(string sensor) => (int)((uint)StringComparer.Ordinal.GetHashCode(sensor) % Lanes);
}
