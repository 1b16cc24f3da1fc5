namespace Telemetry.DeviceSim;

/// <summary>
/// A fault the run injected: <paramref name="Sensor"/> had <paramref name="Fault"/> (e.g. <c>freezer-failure</c>) from
/// <paramref name="Start"/> to <paramref name="End"/> in simulated time (reading time); <paramref name="End"/> is cut
/// short when the run stopped first (<paramref name="Completed"/> false). <paramref name="Rate"/> is the fault's
/// strength where it has one.
/// </summary>
public sealed record InjectedFault(string Sensor, string Building, string Room, string Fault, DateTimeOffset Start, DateTimeOffset End,
    bool Completed, double? Rate);
