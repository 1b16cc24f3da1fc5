namespace Telemetry.Grains;

/// <summary>
/// The campus model's settings (configuration section <c>Campus</c>):
/// <code>
/// "Campus": {
///   "RegistryPath": "campus.yaml",       // the registry file (docs/registry.md); empty: no registry
///   "StatePath": "data/state",           // grain state: alerts, roll-up windows (survives restarts)
///   "StateInterval": "00:00:15",         // room_state, building_state, campus_state written this often
///   "DeviceStatusInterval": "00:01:00",  // device_status written this often (and on every online/offline change)
///   "RollupWindow": "00:01:00",          // telemetry_1m window length
///   "RollupLateness": "00:10:00",        // a window takes late readings this long after it closed
///   "RollupIdleFlush": "00:02:00",       // a quiet sensor's open windows are written after this (wall clock)
///   "AlertFlapThreshold": 3, "AlertFlapWindow": "00:15:00",
///   "RecentAlerts": 500                  // finished alerts kept for /api/alerts?state=recent
/// }
/// </code>
/// </summary>
public sealed class CampusOptions
{
    public const string SectionName = "Campus";

    public string? RegistryPath { get; set; }

    public string StatePath { get; set; } = "data/state";

    public TimeSpan StateInterval { get; set; } = TimeSpan.FromSeconds(15);

    public TimeSpan DeviceStatusInterval { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan RollupWindow { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan RollupLateness { get; set; } = TimeSpan.FromMinutes(10);

    public TimeSpan RollupIdleFlush { get; set; } = TimeSpan.FromMinutes(2);

    public int AlertFlapThreshold { get; set; } = 3;

    public TimeSpan AlertFlapWindow { get; set; } = TimeSpan.FromMinutes(15);

    public int RecentAlerts { get; set; } = 500;
}
