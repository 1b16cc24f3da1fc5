using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using Telemetry.Domain.Rollups;

namespace Telemetry.Domain.Sensors;

/// <summary>
/// What <see cref="SensorModel"/> asks its host to do, collected over one or more calls (a batch of messages fills one
/// output): readings and roll-up points to store, alert steps to publish, moves to log. Typed data, not lines: the
/// line-protocol schema lives in the storage library. Reuse an instance with <see cref="Clear"/>.
/// </summary>
public sealed class SensorOutput
{
    /// <summary>Readings to store raw, per message.</summary>
    public List<SensorReadings> Raw { get; } = [];

    /// <summary>Roll-up points of windows closed, rewritten or flushed.</summary>
    public List<SensorRollup> Rollups { get; } = [];

    /// <summary>Alert lifecycle steps, in order, placed in the sensor's building and room.</summary>
    public List<AlertStep> Steps { get; } = [];

    /// <summary>The sensor reported from another room than before.</summary>
    public List<SensorMove> Moves { get; } = [];

    /// <summary>Readings too late for their roll-up window (stored raw only).</summary>
    public int TooLateReadings { get; set; }

    /// <summary>Readings whose timestamp their roll-up window already held (a resend; not counted twice).</summary>
    public int DuplicateReadings { get; set; }

    /// <summary>The registration (or its kind) changed: the host re-arms its timer with <see cref="SensorModel.TickPeriod"/>.</summary>
    public bool RegistrationChanged { get; set; }

    /// <summary><see cref="SensorModel.EngineProblem"/> changed (a problem appeared, changed or went away).</summary>
    public bool EngineProblemChanged { get; set; }

    public void Clear()
    {
        Raw.Clear();
        Rollups.Clear();
        Steps.Clear();
        Moves.Clear();
        TooLateReadings = 0;
        DuplicateReadings = 0;
        RegistrationChanged = false;
        EngineProblemChanged = false;
    }
}

/// <summary>The readings of one message, at the address it came from; <paramref name="Unregistered"/> tags them so.</summary>
public sealed record SensorReadings(SensorAddress Address, IReadOnlyList<Reading> Readings, bool Unregistered);

/// <summary>A roll-up point of a sensor of <paramref name="Kind"/> ("unregistered" for one the registry lacks) at <paramref name="Where"/>.</summary>
public sealed record SensorRollup(SensorAddress Where, string Kind, RollupPoint Point);

public sealed record SensorMove(SensorAddress From, SensorAddress To);

/// <summary>The sensor's figures for its room (power in kW, energy in kWh) and whether it is online.</summary>
/// <param name="OnlineChanged">Online differs from the last report: the host also writes the device status.</param>
public sealed record RoomReport(string Building, string Room, SensorReport Report, bool OnlineChanged);

/// <summary>A <c>device_status</c> point: the sensor's health as of <paramref name="AtMs"/>.</summary>
public sealed record DeviceStatus(
    SensorAddress At, string Kind, bool Online, double LastSeenAgeSeconds, long MessagesTotal, long ReadingsTotal,
    double? Battery, double? Rssi, long AtMs);

/// <summary>What a sensor keeps across restarts (a registered sensor's grain persists it).</summary>
public sealed record SensorState(AlertEngineState? Alerts, RollupState? Rollups, long LastSeenMs, long MessagesTotal, long ReadingsTotal);

/// <summary>Settings the same for every sensor (configuration section <c>Campus</c>).</summary>
public sealed record SensorSettings(
    TimeSpan RollupWindow,
    TimeSpan RollupLateness,
    TimeSpan RollupIdleFlush,
    TimeSpan DeviceStatusInterval,
    AlertEngineOptions AlertOptions);
