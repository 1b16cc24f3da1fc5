using System.Diagnostics;
using MQTTnet;
using MQTTnet.Formatter;
using Telemetry.DeviceSim.Behaviours;
using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Devices;
using Telemetry.DeviceSim.Mqtt;
using Telemetry.DeviceSim.Progress;

namespace Telemetry.DeviceSim;

/// <summary>
/// Simulates the demo campus: every sensor of <see cref="Layout"/> is its own MQTT client publishing readings
/// until the duration ends or the run is cancelled; then in-flight publishes get the drain timeout to be acknowledged.
/// </summary>
public sealed class Simulator
{
    const int DeviceSalt = 3;

    readonly SimulatorOptions _options;

    public Simulator(SimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        Seed = options.Seed ?? Random.Shared.Next();
        Layout = CampusLayout.Generate(options.Buildings, options.RoomsPerBuilding);
    }

    /// <summary>The seed in use: <see cref="SimulatorOptions.Seed"/> or one picked at random.</summary>
    public int Seed { get; }

    public CampusLayout Layout { get; }

    /// <summary>
    /// Runs the simulation. Cancelling <paramref name="cancellationToken"/> stops it gracefully: the summary is still
    /// returned, not an <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<SimulationSummary> RunAsync(IProgress<ProgressSnapshot>? progress = null, CancellationToken cancellationToken = default)
    {
        var elapsed = Stopwatch.StartNew();
        var counters = new SimulationCounters();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_options.Duration is { } duration)
        {
            stop.CancelAfter(duration);
        }

        using var drain = new CancellationTokenSource();
        using var drainAfterStop = stop.Token.Register(() => drain.CancelAfter(_options.DrainTimeout));
        using var connectGate = new SemaphoreSlim(_options.MaxConcurrentConnects);
        var devices = CreateDevices(counters, connectGate);
        try
        {
            using var stopReporting = new CancellationTokenSource();
            var reporting = progress is null
                ? Task.CompletedTask
                : ReportProgressAsync(progress, () => Snapshot(), stopReporting.Token);

            await Task.WhenAll(devices.Select(device => device.RunAsync(stop.Token, drain.Token)));
            await stopReporting.CancelAsync();
            await reporting;
            progress?.Report(Snapshot());
            return Summarise(counters, devices, elapsed.Elapsed);
        }
        finally
        {
            foreach (var device in devices)
            {
                device.Dispose();
            }
        }

        ProgressSnapshot Snapshot() =>
            counters.Snapshot(elapsed.Elapsed, devices.Count, devices.Count(device => device.IsConnected));
    }

    List<SimulatedDevice> CreateDevices(SimulationCounters counters, SemaphoreSlim connectGate)
    {
        var behaviours = BehaviourFactory.Create(Layout, Seed);
        var factory = new MqttClientFactory();
        var devices = new List<SimulatedDevice>(Layout.Sensors.Count);
        for (var i = 0; i < Layout.Sensors.Count; i++)
        {
            var sensor = Layout.Sensors[i];
            var random = new Random(Noise.Derive(Seed, DeviceSalt, i));
            var connection = new DeviceConnection(factory.CreateMqttClient(), ClientOptions(sensor), connectGate, counters, random, _options.ConnectTimeout);
            devices.Add(new SimulatedDevice(sensor, behaviours[i], connection, _options, counters, random));
        }

        return devices;
    }

    MqttClientOptions ClientOptions(SensorInfo sensor)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(sensor.Id)
            .WithProtocolVersion(_options.ProtocolVersion)
            .WithCleanSession()
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
            .WithTimeout(_options.ConnectTimeout);
        if (_options.Username is not null)
        {
            builder.WithCredentials(_options.Username, _options.Password);
        }

        return builder.Build();
    }

    async Task ReportProgressAsync(IProgress<ProgressSnapshot> progress, Func<ProgressSnapshot> snapshot, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.ProgressInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                progress.Report(snapshot());
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run is over; the caller reports the final snapshot.
        }
    }

    SimulationSummary Summarise(SimulationCounters counters, List<SimulatedDevice> devices, TimeSpan elapsed) => new()
    {
        Seed = Seed,
        Elapsed = elapsed,
        Qos = _options.Qos,
        ProtocolVersion = _options.ProtocolVersion,
        Devices = devices.Count,
        DevicesConnected = devices.Count(device => device.EverConnected),
        ConnectFailures = counters.ConnectFailures,
        Reconnects = counters.Reconnects,
        MessagesSent = counters.MessagesSent,
        ReadingsSent = counters.ReadingsSent,
        MessagesAcked = counters.MessagesAcked,
        ReadingsAcked = counters.ReadingsAcked,
        MessagesRefused = counters.MessagesRefused,
        RefusedByReason = counters.RefusedByReason,
        MessagesFailed = counters.MessagesFailed,
        MessagesAbandoned = counters.MessagesAbandoned,
        Errors = counters.Errors,
        Sensors = devices.ToDictionary(device => device.Tally.Sensor.Id, device => device.Tally),
    };
}
