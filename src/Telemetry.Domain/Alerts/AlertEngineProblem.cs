using System.Collections.Concurrent;

namespace Telemetry.Domain.Alerts;

/// <summary>What could not be built of a sensor's alert engine.</summary>
public enum AlertEngineFault
{
    /// <summary>The saved alert state did not restore; the engine started afresh (alerts open before are not continued).</summary>
    SavedState,

    /// <summary>One or more rules could not be built; the sensor's other rules run.</summary>
    Rule,

    /// <summary>No engine could be built (or it failed while evaluating): the sensor raises no alerts.</summary>
    Engine,
}

/// <summary>
/// Why a registered sensor's alerts do not fully run. Its readings and roll-ups are stored regardless; the problem is
/// logged once, counted and shown on <c>/health/ready</c> as Degraded (docs/operations.md).
/// </summary>
/// <param name="SensorId">The sensor.</param>
/// <param name="Fault">What failed.</param>
/// <param name="Rules">The rules to blame (empty when no rule is).</param>
/// <param name="Error">The exception's message.</param>
public sealed record AlertEngineProblem(string SensorId, AlertEngineFault Fault, IReadOnlyList<string> Rules, string Error)
{
    /// <summary>What is to blame: the rules, the saved state or the engine.</summary>
    public string Culprit => Rules.Count switch
    {
        0 when Fault == AlertEngineFault.SavedState => "saved state",
        0 => "alert engine",
        1 => $"rule '{Rules[0]}'",
        _ => $"rules {string.Join(", ", Rules.Select(r => $"'{r}'"))}",
    };

    /// <summary>What runs despite the problem.</summary>
    public string Consequence => Fault switch
    {
        AlertEngineFault.SavedState => "its alerts started afresh; alerts open before the restart are not continued",
        AlertEngineFault.Rule => "its other rules run",
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
