using Telemetry.Contracts;
using Telemetry.Domain.Alerts;
using OfflineAlertRule = Telemetry.Domain.Alerts.OfflineRule;
using Telemetry.Domain.Campus;

namespace Telemetry.IntegrationTests.Grains;

/// <summary>
/// The registry the grain tests run against: one building, a classroom whose sensors feed the room, building and
/// campus figures, and a lab of freezers and beacons, one per test that needs a registered sensor of its own (the
/// cluster is shared, so a sensor's alert state must not leak from one test into another).
/// </summary>
public static class GrainTestCampus
{
    public const string CampusId = "gt-campus";
    public const string BuildingId = "gt-b1";
    public const string ClassroomId = "r1";
    public const string LabId = "lab";
    public const int ClassroomCapacity = 40;
    public const int LabCapacity = 10;

    // Classroom: every roll-up role, a kW and a W meter.
    public const string ClimateA = "r1-climate-a";
    public const string ClimateB = "r1-climate-b";
    public const string OccupancyA = "r1-occ-a";
    public const string OccupancyB = "r1-occ-b";
    public const string Mains = "r1-mains";
    public const string SubMeterW = "r1-sub-w";

    // Lab freezers, one per test.
    public const string FreezerRaw = "frz-raw";
    public const string FreezerRollup = "frz-rollup";
    public const string FreezerThreshold = "frz-threshold";
    public const string FreezerAcknowledge = "frz-ack";
    public const string FreezerManualClear = "frz-clear";
    public const string FreezerFault = "frz-fault";
    public const string FreezerCampus = "frz-campus";
    public const string FreezerDeactivate = "frz-deactivate";
    public const string FreezerRestart = "frz-restart";
    public const string FreezerCrash = "frz-crash";
    public const string FreezerSpoolFull = "frz-spool-full";
    public const string FreezerForeignState = "frz-foreign-state";
    public const string FreezerOneByOne = "frz-one-by-one";
    public const string FreezerBatched = "frz-batched";
    public const string FreezerReplay = "frz-replay";
    public const string FreezerReactivate = "frz-reactivate";

    // Lab beacons: interval 1 s with an offline rule.
    public const string BeaconSilent = "bcn-silent";
    public const string BeaconDisconnect = "bcn-disconnect";

    public const string FreezerWarmRule = "freezer-warm";
    public const string FreezerFaultRule = "freezer-fault";
    public const string OfflineRule = "offline";

    public static readonly TimeSpan BeaconInterval = TimeSpan.FromSeconds(1);
    public const double BeaconOfflineIntervals = 1.5;
    public static readonly TimeSpan BeaconGrace = TimeSpan.FromMilliseconds(300);

    static readonly string[] Freezers =
    [
        FreezerRaw, FreezerRollup, FreezerThreshold, FreezerAcknowledge, FreezerManualClear, FreezerFault,
        FreezerCampus, FreezerDeactivate, FreezerRestart, FreezerCrash, FreezerSpoolFull, FreezerForeignState,
        FreezerOneByOne, FreezerBatched, FreezerReplay, FreezerReactivate,
    ];

    static readonly string[] Beacons = [BeaconSilent, BeaconDisconnect];

    public static CampusRegistry Registry { get; } = Build();

    static CampusRegistry Build()
    {
        static Dictionary<string, MetricSpec> Metrics(params (string Name, string Unit, RollupRole Role)[] metrics) =>
            metrics.ToDictionary(m => m.Name, m => new MetricSpec(m.Unit, m.Role), StringComparer.Ordinal);

        var hour = TimeSpan.FromHours(1);
        var kinds = new Dictionary<string, SensorKind>(StringComparer.Ordinal)
        {
            ["climate"] = SensorKind.Create("climate",
                Metrics(("temperature", "°C", RollupRole.Temperature), ("humidity", "%", RollupRole.Humidity),
                    ("co2", "ppm", RollupRole.Co2), ("battery", "%", RollupRole.None)),
                hour,
                [new ThresholdRule("co2-high", AlertSeverity.Warning, "co2", Above: 1500, Hysteresis: 200, For: TimeSpan.FromMinutes(10))]),
            ["occupancy"] = SensorKind.Create("occupancy", Metrics(("people", "count", RollupRole.People)), hour, []),
            ["meter"] = SensorKind.Create("meter", Metrics(("power", "kW", RollupRole.Power), ("energy", "kWh", RollupRole.Energy)), hour, []),
            ["meter-w"] = SensorKind.Create("meter-w", Metrics(("power", "W", RollupRole.Power), ("energy", "Wh", RollupRole.Energy)), hour, []),
            ["freezer"] = SensorKind.Create("freezer",
                Metrics(("temperature", "°C", RollupRole.None), ("fault", "code", RollupRole.None)),
                hour,
                [
                    new ThresholdRule(FreezerWarmRule, AlertSeverity.Critical, "temperature",
                        Above: -15, Hysteresis: 2, For: TimeSpan.FromMinutes(5), ClearFor: TimeSpan.FromMinutes(1),
                        Description: "Freezer is warming up"),
                    new FaultCodeRule(FreezerFaultRule, AlertSeverity.Critical, "fault"),
                ]),
            ["beacon"] = SensorKind.Create("beacon", Metrics(("battery", "%", RollupRole.None)), BeaconInterval,
                [new OfflineAlertRule(OfflineRule, AlertSeverity.Warning, BeaconOfflineIntervals, BeaconGrace)]),
        };

        var classroom = new Room(ClassroomId, "Seminar room 1", "classroom", ClassroomCapacity,
        [
            new Sensor(ClimateA, "climate"), new Sensor(ClimateB, "climate"),
            new Sensor(OccupancyA, "occupancy"), new Sensor(OccupancyB, "occupancy"),
            new Sensor(Mains, "meter"), new Sensor(SubMeterW, "meter-w"),
        ]);
        var lab = new Room(LabId, "Lab", "lab", LabCapacity,
            [.. Freezers.Select(id => new Sensor(id, "freezer")), .. Beacons.Select(id => new Sensor(id, "beacon"))]);
        return new CampusRegistry(
            new CampusInfo(CampusId, "Grain Test Campus", "UTC"),
            UnregisteredPolicy.Accept,
            ComfortBands.Default,
            kinds,
            [new Building(BuildingId, "Engineering", [classroom, lab])]);
    }
}
