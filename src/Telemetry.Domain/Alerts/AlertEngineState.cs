using Telemetry.Contracts;
using Telemetry.Domain.Campus;

namespace Telemetry.Domain.Alerts;

/// <summary>
/// Everything a <see cref="SensorAlertEngine"/> needs to carry on where it stopped: public records only, so it
/// round-trips through System.Text.Json (the grain storage's options: the alert enums by their wire names).
/// </summary>
/// <param name="SensorId">The sensor the state belongs to; restoring it into another sensor's engine is refused.</param>
/// <param name="WatchSinceMs">Start of the offline clock for a sensor that has not reported since (receive time).</param>
/// <param name="LastSeenMs">Receive time of the newest message, if any.</param>
/// <param name="DisconnectedAtMs">When the device disconnected, while no message or reconnect has come since.</param>
/// <param name="LateValuesIgnored">Metric values ignored for alerting because they were not newer than the newest one evaluated.</param>
/// <param name="NewestReadingMs">Per watched metric, the newest reading time evaluated.</param>
/// <param name="Rules">Per rule, its pending timers, open alert and flap history.</param>
/// <param name="RecentlyCleared">The latest cleared alerts, newest last.</param>
public sealed record AlertEngineState(
    string SensorId,
    long WatchSinceMs,
    long? LastSeenMs,
    long? DisconnectedAtMs,
    long LateValuesIgnored,
    IReadOnlyDictionary<string, long> NewestReadingMs,
    IReadOnlyList<AlertRuleState> Rules,
    IReadOnlyList<Alert> RecentlyCleared);

/// <summary>The evaluation state of one rule of one sensor.</summary>
/// <param name="RuleId">The rule's id.</param>
/// <param name="Type">The rule's type; a restored state whose rule now has another type is dropped.</param>
/// <param name="Alert">The open alert (active or acknowledged), if any.</param>
/// <param name="Latched">Manually cleared while the condition held: no new raise until the condition has ended.</param>
/// <param name="RaisePendingSinceMs">Start of the run in which the raise condition has held (waiting for For).</param>
/// <param name="ClearPendingSinceMs">Start of the run in which the clear condition has held (waiting for ClearFor).</param>
/// <param name="RecentRaisesMs">Times of the latest raises, for the flap guard.</param>
/// <param name="PreviousReadingMs">Rate-of-change: time of the previous reading of the metric.</param>
/// <param name="PreviousValue">Rate-of-change: value of the previous reading.</param>
/// <param name="RunStartMs">Stuck: time of the first reading of the current run of unchanged values.</param>
/// <param name="RunStartValue">Stuck: value of that first reading.</param>
/// <param name="RunLength">Stuck: number of readings in the run.</param>
public sealed record AlertRuleState(
    string RuleId,
    AlertRuleType Type,
    Alert? Alert,
    bool Latched,
    long? RaisePendingSinceMs,
    long? ClearPendingSinceMs,
    IReadOnlyList<long> RecentRaisesMs,
    long? PreviousReadingMs = null,
    double? PreviousValue = null,
    long? RunStartMs = null,
    double? RunStartValue = null,
    int RunLength = 0);
