using System.Diagnostics;
using MQTTnet;
using Telemetry.DeviceSim.Behaviours;
using Telemetry.DeviceSim.Campus;
using Telemetry.DeviceSim.Devices;
using Telemetry.DeviceSim.Mqtt;
using Telemetry.DeviceSim.Progress;
using Telemetry.DeviceSim.Scenarios;
using Telemetry.DeviceSim.Time;
using Telemetry.Domain.Campus;

namespace Telemetry.DeviceSim;

/// <summary>
/// Simulates a campus: every sensor of <see cref="Layout"/> is its own MQTT client publishing readings in simulated
/// time until the duration ends or the run is cancelled; then in-flight publishes get the drain timeout to be acknowledged.
/// </summary>
public sealed class Simulator
{
    const int DeviceSalt = 3;
    const int PlanSalt = 4;

    readonly SimulatorOptions _options;

    /// <summary>Throws <see cref="ArgumentException"/> naming the problem when the options or the faults are invalid.</summary>
    public Simulator(SimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        Seed = options.Seed ?? Random.Shared.Next();
        Layout = options.Registry is { } registry
            ? CampusLayout.FromRegistry(registry)
            : CampusLayout.Generate(options.Buildings, options.RoomsPerBuilding, options.LabsPerBuilding);
        if (Layout.Sensors.Count == 0)
        {
            throw new ArgumentException("The campus has no sensors.", nameof(options));
        }

        var errors = ValidateFaults(options.Faults, Layout);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, errors), nameof(options));
        }
    }

    /// <summary>The options of the run.</summary>
    public SimulatorOptions Options => _options;

    /// <summary>The seed in use: <see cref="SimulatorOptions.Seed"/> or one picked at random.</summary>
    public int Seed { get; }

    public CampusLayout Layout { get; }

    public CampusRegistry Registry => Layout.Registry;

    /// <summary>
    /// Problems of a fault schedule against a campus, each naming where the fault was written: unknown sensors and
    /// faults the sensor cannot have (freezer-failure needs a freezer, meter-drift, meter-reset and meter-replacement a meter with an energy register).
    /// </summary>
    public static IReadOnlyList<string> ValidateFaults(IEnumerable<FaultSpec> faults, CampusLayout layout)
    {
        ArgumentNullException.ThrowIfNull(faults);
        ArgumentNullException.ThrowIfNull(layout);
        var sensors = layout.Sensors.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var errors = new List<string>();
        foreach (var fault in faults)
        {
            var where = string.IsNullOrEmpty(fault.Origin) ? "fault" : fault.Origin;
            if (!sensors.TryGetValue(fault.Sensor, out var sensor))
            {
                errors.Add($"{where}: sensor '{fault.Sensor}' is not on the campus");
                continue;
            }

            var fits = fault.Fault switch
            {
                FaultType.FreezerFailure => sensor.Model == SensorModel.Freezer,
                FaultType.MeterDrift or FaultType.MeterReset or FaultType.MeterReplacement => sensor.Model is SensorModel.EnergyMeter or SensorModel.LightingMeter or SensorModel.HvacMeter,
                _ => true,
            };
            if (!fits)
            {
                errors.Add($"{where}: {fault.Fault.Name()} does not apply to '{sensor.Id}' (kind {sensor.Kind})");
            }
        }

        return errors;
    }

    /// <summary>
    /// Runs the simulation. Cancelling <paramref name="cancellationToken"/> stops it gracefully: the summary is still
    /// returned, not an <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<SimulationSummary> RunAsync(IProgress<ProgressSnapshot>? progress = null, CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        var start = _options.Start ?? (_options.Backfill is { } span
            ? now - span
            : SimulationClock.DefaultStart(now, _options.Duration, _options.Speed));
        DateTimeOffset? backfillEnd = _options.Backfill is { } backfill ? start + backfill : null;
        var clock = new SimulationClock(start, _options.Speed);
        var counters = new SimulationCounters();
        var run = new RunContext(_options, clock, Stopwatch.StartNew(), CampusTimeZone(Registry.Campus.TimeZone), counters)
        {
            BackfillEnd = backfillEnd,
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_options.Duration is { } duration)
        {
            stop.CancelAfter(duration);
        }

        using var drain = new CancellationTokenSource();
        using var drainAfterStop = stop.Token.Register(() => drain.CancelAfter(_options.DrainTimeout));
        using var connectGate = new SemaphoreSlim(_options.MaxConcurrentConnects);
        var devices = CreateDevices(run, connectGate);
        try
        {
            using var stopReporting = new CancellationTokenSource();
            var reporting = progress is null
                ? Task.CompletedTask
                : ReportProgressAsync(progress, () => Snapshot(), stopReporting.Token);

            await Task.WhenAll(devices.Select(device => device.RunAsync(stop.Token, drain.Token)));
            var end = backfillEnd is null ? run.SimulatedNow : devices.Min(device => device.Reached);
            await stopReporting.CancelAsync();
            await reporting;
            progress?.Report(Snapshot());
            return Summarise(run, devices, end);
        }
        finally
        {
            foreach (var device in devices)
            {
                device.Dispose();
            }
        }

        ProgressSnapshot Snapshot() =>
            counters.Snapshot(run.Wall.Elapsed, devices.Count, devices.Count(device => device.IsConnected),
                backfillEnd is not null ? devices.Min(device => device.Reached)
                : _options.Speed == 1 && _options.Start is null ? null : run.SimulatedNow);
    }

    /// <summary>The campus time zone (IANA id); UTC when the machine does not know it.</summary>
    public static TimeZoneInfo CampusTimeZone(string id) =>
        TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc;

    List<SimulatedDevice> CreateDevices(RunContext run, SemaphoreSlim connectGate)
    {
        var behaviours = BehaviourFactory.Create(Layout, Seed, _options.Timetable,
            sensor => SensorFaults.For(sensor, _options.Faults, run.Clock.Start));
        var factory = new MqttClientFactory();
        var devices = new List<SimulatedDevice>(Layout.Sensors.Count);
        for (var i = 0; i < Layout.Sensors.Count; i++)
        {
            var sensor = Layout.Sensors[i];
            var connectionRandom = new Random(Noise.Derive(Seed, DeviceSalt, i));
            var planRandom = new Random(Noise.Derive(Seed, PlanSalt, i));
            var connection = new DeviceConnection(factory.CreateMqttClient(), ClientOptions(sensor), connectGate, run.Counters,
                connectionRandom, _options.ConnectTimeout);
            var interval = _options.Interval ?? Registry.Kinds[sensor.Kind].Interval;
            if (interval <= TimeSpan.Zero)
            {
                interval = TimeSpan.FromMinutes(1);
            }

            devices.Add(new SimulatedDevice(sensor, behaviours[i], connection, run, interval,
                SensorFaults.For(sensor.Id, _options.Faults, run.Clock.Start), planRandom));
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

    /// <summary>The scheduled faults that began before <paramref name="end"/>, cut off at it, in start order.</summary>
    public IReadOnlyList<InjectedFault> InjectedFaults(DateTimeOffset simulatedStart, DateTimeOffset end)
    {
        var sensors = Layout.Sensors.ToDictionary(s => s.Id, StringComparer.Ordinal);
        return [.. _options.Faults
            .Select(f => (Spec: f, Start: simulatedStart + f.At, End: simulatedStart + f.At + f.Duration))
            .Where(f => f.Start < end)
            .OrderBy(f => f.Start)
            .Select(f => new InjectedFault(f.Spec.Sensor, sensors[f.Spec.Sensor].Building, sensors[f.Spec.Sensor].Room,
                f.Spec.Fault.Name(), f.Start, f.End <= end ? f.End : end, f.End <= end,
                f.Spec.HasRate ? f.Spec.EffectiveRate : null))];
    }

    SimulationSummary Summarise(RunContext run, List<SimulatedDevice> devices, DateTimeOffset end)
    {
        var counters = run.Counters;
        return new SimulationSummary
        {
            Seed = Seed,
            Elapsed = run.Wall.Elapsed,
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
            Speed = _options.Speed,
            Backfill = run.BackfillEnd is not null,
            SimulatedStart = run.Clock.Start,
            SimulatedEnd = end,
            Faults = InjectedFaults(run.Clock.Start, end),
            ConnectivityLosses = counters.ConnectivityLosses,
            ReadingsStored = counters.ReadingsStored,
            ReadingsSkipped = counters.ReadingsSkipped,
            ReadingsDropped = counters.ReadingsDropped,
            MalformedSent = counters.MalformedSent,
            MalformedRefused = counters.MalformedRefused,
        };
    }
}
