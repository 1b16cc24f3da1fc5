namespace Telemetry.DeviceSim;

/// <summary>How a reading's <c>ts</c> property is written.</summary>
public enum TimestampFormat
{
    /// <summary>An integer of Unix epoch milliseconds, e.g. <c>"ts":1795860000123</c>.</summary>
    EpochMilliseconds,

    /// <summary>An RFC 3339 UTC string with milliseconds, e.g. <c>"ts":"2026-11-28T10:00:00.123Z"</c>.</summary>
    Rfc3339,

    /// <summary>No <c>ts</c>; the service uses its receive time.</summary>
    None,
}
