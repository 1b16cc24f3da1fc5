namespace Telemetry.DeviceSim.Scenarios;

/// <summary>
/// A scenario file (see device-sim/README.md): which campus, when the simulated period starts, how fast simulated
/// time runs, when rooms are used, how devices misbehave and which faults to inject. Absent entries are <c>null</c>.
/// </summary>
public sealed record Scenario
{
    /// <summary>The registry file, resolved against the scenario file's folder.</summary>
    public string? Registry { get; init; }

    public DateTimeOffset? Start { get; init; }
    public double? Speed { get; init; }
    public Timetable? Timetable { get; init; }
    public DeviceBehaviour? Behaviour { get; init; }
    public IReadOnlyList<FaultSpec> Faults { get; init; } = [];
}

/// <summary>The outcome of loading a scenario: the scenario when <see cref="Errors"/> is empty.</summary>
public sealed record ScenarioLoadResult(Scenario? Scenario, IReadOnlyList<string> Errors);
