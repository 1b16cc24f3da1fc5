namespace Telemetry.DeviceSim.Load;

/// <summary>
/// The lines <c>device-sim load</c> writes to stderr at the edges of the measured window, as they happen, so that a
/// benchmark running it as a child process can sample other processes' CPU over the same window.
/// </summary>
public static class LoadWindowLines
{
    public const string Opens = "device-sim load: measured window opens";
    public const string Closes = "device-sim load: measured window closes";

    /// <summary><see cref="Opens"/> for <see cref="LoadPhase.Measuring"/>, <see cref="Closes"/> otherwise.</summary>
    public static string For(LoadPhase edge) => edge == LoadPhase.Measuring ? Opens : Closes;
}
