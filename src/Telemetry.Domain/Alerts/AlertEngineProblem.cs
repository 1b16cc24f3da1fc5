using System.Collections.Concurrent;

namespace Telemetry.Domain.Alerts;

/// <summary>What could not be built of a sensor's alert engine.</summary>
public enum AlertEngineFault
{
    /// <summary>The saved alert state did not restore; the engine started afresh (alerts open before are not continued).</summary>
    SavedState,

    /// <summary>No engine could be built (or it failed while evaluating): the sensor raises no alerts.</summary>
    Engine,
}

/// <summary>
/// Why a registered sensor's alerts do not fully run. Its readings and roll-ups are stored regardless; the problem is
/// logged once, counted and shown on <c>/health/ready</c> as Degraded (docs/operations.md).
/// </summary>
/// <param name="SensorId">The sensor.</param>
/// <param name="Fault">What failed.</param>
/// <param name="Error">The exception's message.</param>
public sealed record AlertEngineProblem(string SensorId, AlertEngineFault Fault, string Error)
{
    /// <summary>
    /// What is to blame: the saved state or the engine. Never a rule: rules are checked once, by the registry loader
    /// (<see cref="AlertRuleSet"/>), and the engine builds whatever passed.
    /// </summary>
    public string Culprit => Fault == AlertEngineFault.SavedState ? "saved state" : "alert engine";

    /// <summary>What runs despite the problem.</summary>
    public string Consequence => Fault switch
    {
        AlertEngineFault.SavedState => "its alerts started afresh; alerts open before the restart are not continued",
        _ => "it raises no alerts",
    };

    /// <summary>One line for logs and the health report.</summary>
    public override string ToString() => $"{Culprit}: {Error}; {Consequence}";
}

/// <summary>
/// The alert-engine problems of this node's sensors, by sensor: written by the sensor grains, read by the health
/// check. Thread-safe.
/// </summary>
public sealed class AlertEngineProblems
{
    readonly ConcurrentDictionary<string, AlertEngineProblem> bySensor = new(StringComparer.Ordinal);

    public void Report(AlertEngineProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        bySensor[problem.SensorId] = problem;
    }

    /// <summary>The sensor's engine was built cleanly again, or the sensor left the registry.</summary>
    public void Resolve(string sensorId) => bySensor.TryRemove(sensorId, out _);

    /// <summary>The current problems, ordered by sensor.</summary>
    public IReadOnlyList<AlertEngineProblem> Current =>
        [.. bySensor.Values.OrderBy(p => p.SensorId, StringComparer.Ordinal)];
}
