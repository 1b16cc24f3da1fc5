using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.DeviceSim.Scenarios;
using Telemetry.Domain.Campus;
using Timetable = Telemetry.DeviceSim.Scenarios.Timetable;

namespace Telemetry.DeviceSim;

/// <summary>What to simulate and how to reach the broker. Defaults match <c>device-sim run</c>.</summary>
public sealed class SimulatorOptions
{
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 1883;
    public int Buildings { get; init; } = 3;
    public int RoomsPerBuilding { get; init; } = 10;

    /// <summary>Labs per generated building (<c>lab1</c>, …), each with two freezers and a fume hood.</summary>
    public int LabsPerBuilding { get; init; }

    /// <summary>
    /// The campus to simulate; <c>null</c> generates the demo campus from <see cref="Buildings"/>,
    /// <see cref="RoomsPerBuilding"/> and <see cref="LabsPerBuilding"/>.
    /// </summary>
    public CampusRegistry? Registry { get; init; }

    /// <summary>Time between two readings of one sensor (simulated time); <c>null</c> uses each kind's interval.</summary>
    public TimeSpan? Interval { get; init; }

    /// <summary>How much faster than the wall clock simulated time runs (720: a simulated day in two minutes).</summary>
    public double Speed { get; init; } = 1;

    /// <summary>
    /// The simulated time the run starts at; <c>null</c>: now − <see cref="Duration"/> × <see cref="Speed"/>, so the
    /// simulated period ends about when the run does and no timestamp lies in the future.
    /// </summary>
    public DateTimeOffset? Start { get; init; }

    /// <summary>
    /// Backfill: simulate this span from <see cref="Start"/> (default: now − the span) as fast as the broker
    /// acknowledges, ignoring <see cref="Speed"/>, and stop at its end. Readings carry their simulated timestamps; a
    /// device publishes <see cref="ReadingsPerMessage"/> readings a message. <c>null</c>: paced by the wall clock.
    /// </summary>
    public TimeSpan? Backfill { get; init; }

    /// <summary>When rooms are used, by room type.</summary>
    public Timetable Timetable { get; init; } = Timetable.Default;

    /// <summary>Connectivity loss, clock skew, malformed payloads; off by default.</summary>
    public DeviceBehaviour Behaviour { get; init; } = DeviceBehaviour.None;

    /// <summary>Faults to inject; times are relative to the simulated start.</summary>
    public IReadOnlyList<FaultSpec> Faults { get; init; } = [];

    /// <summary>Readings per message at most when a device uploads its local store after an outage.</summary>
    public int UploadBatchSize { get; init; } = 100;

    /// <summary>Readings a device keeps while disconnected; beyond that the oldest are dropped.</summary>
    public int StoreCapacity { get; init; } = 10_000;

    /// <summary>At most once or at least once; exactly once is not part of the service's contract.</summary>
    public MqttQualityOfServiceLevel Qos { get; init; } = MqttQualityOfServiceLevel.AtLeastOnce;

    /// <summary>How long to publish; <c>null</c> runs until the cancellation token passed to the run fires.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary><see cref="MqttProtocolVersion.V311"/> or <see cref="MqttProtocolVersion.V500"/>.</summary>
    public MqttProtocolVersion ProtocolVersion { get; init; } = MqttProtocolVersion.V311;

    public string? Username { get; init; }
    public string? Password { get; init; }

    /// <summary>Connection attempts in flight at once, across all devices (initial connects and reconnects).</summary>
    public int MaxConcurrentConnects { get; init; } = 50;

    /// <summary>Seeds every behaviour and every jitter; <c>null</c> picks one (reported in the summary).</summary>
    public int? Seed { get; init; }

    /// <summary>
    /// Readings per message. With 1 the payload is one JSON object; above 1 a device buffers that many readings
    /// (one per <see cref="Interval"/>) and publishes them as a JSON array.
    /// </summary>
    public int ReadingsPerMessage { get; init; } = 1;

    public TimestampFormat Timestamps { get; init; } = TimestampFormat.EpochMilliseconds;

    /// <summary>How long one publish may wait for its PUBACK before it counts as failed.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one connection attempt may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After stopping, how long publishes already in flight may still wait for their PUBACK.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the progress callback is called.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Keep every acknowledged reading in <see cref="SensorTally.AcknowledgedReadings"/> (for tests; costs memory).</summary>
    public bool RecordAcknowledgedReadings { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        Require(!string.IsNullOrWhiteSpace(Host), nameof(Host), "must not be empty");
        Require(Port is > 0 and <= 65535, nameof(Port), "must be 1..65535");
        Require(Buildings > 0, nameof(Buildings), "must be at least 1");
        Require(RoomsPerBuilding >= 0, nameof(RoomsPerBuilding), "must not be negative");
        Require(LabsPerBuilding >= 0, nameof(LabsPerBuilding), "must not be negative");
        Require(Interval is null || Interval >= TimeSpan.FromMilliseconds(10), nameof(Interval), "must be at least 10ms");
        Require(double.IsFinite(Speed) && Speed is > 0 and <= 1_000_000, nameof(Speed), "must be above 0 and at most 1000000");
        Require(Backfill is null || Backfill > TimeSpan.Zero, nameof(Backfill), "must be positive");
        // The service refuses readings more than 5 minutes ahead of its clock.
        Require(Backfill is null || Start is null || Start + Backfill <= DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1), nameof(Backfill),
            "from the start must end by now (readings from the future are refused)");
        Require(Speed <= 1 || Duration is not null || Start is not null || Backfill is not null, nameof(Speed),
            "above 1 needs a duration (the simulated period then ends now) or a start time");
        Require(Timetable is not null, nameof(Timetable), "must not be null");
        Require(Behaviour is not null, nameof(Behaviour), "must not be null");
        Require(Behaviour is null || (Behaviour.ConnectivityLossPerHour is >= 0 and <= 1 && Behaviour.MalformedRate is >= 0 and <= 1
            && Behaviour.ConnectivityLossMin > TimeSpan.Zero && Behaviour.ConnectivityLossMax >= Behaviour.ConnectivityLossMin
            && Behaviour.ClockSkewMax >= TimeSpan.Zero && Behaviour.ClockSkewMax <= TimeSpan.FromMinutes(5)),
            nameof(Behaviour), "needs probabilities and rates within 0..1, outage lengths with 0 < min <= max, clock skew 0..5m");
        Require(Faults is not null, nameof(Faults), "must not be null");
        Require(UploadBatchSize is > 0 and <= 1000, nameof(UploadBatchSize), "must be 1..1000");
        Require(StoreCapacity > 0, nameof(StoreCapacity), "must be at least 1");
        Require(Qos is MqttQualityOfServiceLevel.AtMostOnce or MqttQualityOfServiceLevel.AtLeastOnce, nameof(Qos), "must be 0 or 1");
        Require(Duration is null || Duration > TimeSpan.Zero, nameof(Duration), "must be positive");
        Require(ProtocolVersion is MqttProtocolVersion.V311 or MqttProtocolVersion.V500, nameof(ProtocolVersion), "must be 3.1.1 or 5");
        Require(Password is null || Username is not null, nameof(Password), "needs a username");
        Require(MaxConcurrentConnects > 0, nameof(MaxConcurrentConnects), "must be at least 1");
        Require(ReadingsPerMessage is > 0 and <= 1000, nameof(ReadingsPerMessage), "must be 1..1000");
        Require(AckTimeout > TimeSpan.Zero, nameof(AckTimeout), "must be positive");
        Require(ConnectTimeout > TimeSpan.Zero, nameof(ConnectTimeout), "must be positive");
        Require(DrainTimeout >= TimeSpan.Zero, nameof(DrainTimeout), "must not be negative");
        Require(ProgressInterval > TimeSpan.Zero, nameof(ProgressInterval), "must be positive");
    }

    static void Require(bool valid, string option, string rule)
    {
        if (!valid)
        {
            throw new ArgumentException($"{option} {rule}.", option);
        }
    }
}
