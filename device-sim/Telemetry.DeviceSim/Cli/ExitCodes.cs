namespace Telemetry.DeviceSim.Cli;

public static class ExitCodes
{
    /// <summary>Every device connected and every QoS 1 message was acknowledged (at QoS 0: sent without error).</summary>
    public const int Success = 0;

    /// <summary>Invalid command line.</summary>
    public const int Usage = 1;

    /// <summary>Acknowledgements missing, messages refused, publish failures, or devices that never connected.</summary>
    public const int Incomplete = 2;
}
