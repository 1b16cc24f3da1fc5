using System.Text;
using System.Text.Json;
using Telemetry.Contracts;
using Telemetry.Grains.Persistence;
using Telemetry.Service.Alerts;
using Telemetry.Storage.Schema;

namespace Telemetry.IntegrationTests.Alerts;

/// <summary>
/// The alert enums are typed inside the service, but what leaves it — API JSON, MQTT and webhook payloads, InfluxDB
/// tags, persisted state — keeps the kebab-case strings of docs/alerts.md. The expected texts here are the documented
/// contract, written by hand.
/// </summary>
public sealed class AlertWireFormatTests
{
    /// <summary>What the HTTP API serialises with: ASP.NET's web defaults.</summary>
    static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public void Every_enum_value_has_its_documented_wire_name()
    {
        Assert.Equal(["info", "warning", "critical"], Enum.GetValues<AlertSeverity>().Select(v => WireName.Of(v)));
        Assert.Equal(["threshold", "rate-of-change", "stuck", "offline", "fault-code"], Enum.GetValues<AlertRuleType>().Select(v => WireName.Of(v)));
        Assert.Equal(["active", "acknowledged", "cleared"], Enum.GetValues<AlertState>().Select(v => WireName.Of(v)));
        Assert.Equal(["raised", "acknowledged", "cleared"], Enum.GetValues<AlertEvent>().Select(v => WireName.Of(v)));
    }

    [Fact]
    public void The_documented_payload_example_is_what_mqtt_and_webhooks_receive()
    {
        // docs/alerts.md, "Payload"; System.Text.Json's default encoder escapes the degree sign.
        const string documented = """
            {"event":"raised","at":"2026-11-28T09:41:00+00:00","id":"bldg-1-lab1-freezer1/too-warm/1795858860000",
             "building":"bldg-1","room":"lab1","sensor":"bldg-1-lab1-freezer1","rule":"too-warm","ruleType":"threshold",
             "severity":"critical","state":"active","message":"temperature -9.5 \u00B0C above -15 for 5m","value":-9.5,
             "raisedAt":"2026-11-28T09:41:00+00:00","flapping":false}
            """;
        var alert = new AlertInfo("bldg-1-lab1-freezer1/too-warm/1795858860000", "bldg-1", "lab1", "bldg-1-lab1-freezer1",
            "too-warm", AlertRuleType.Threshold, AlertSeverity.Critical, AlertState.Active, 1795858860000, -9.5,
            "temperature -9.5 °C above -15 for 5m", null, null, null, null, null, false);

        var payload = Encoding.UTF8.GetString(AlertPayload.Serialize(new AlertStep(AlertEvent.Raised, 1795858860000, alert)));

        Assert.Equal(Compact(documented), payload);
    }

    [Theory]
    [InlineData(AlertRuleType.RateOfChange, AlertSeverity.Warning, AlertState.Acknowledged, AlertEvent.Acknowledged,
        "rate-of-change", "warning", "acknowledged", "acknowledged")]
    [InlineData(AlertRuleType.FaultCode, AlertSeverity.Info, AlertState.Cleared, AlertEvent.Cleared,
        "fault-code", "info", "cleared", "cleared")]
    public void Payload_and_api_json_spell_every_enum_in_kebab_case(
        AlertRuleType ruleType, AlertSeverity severity, AlertState state, AlertEvent step,
        string ruleTypeText, string severityText, string stateText, string eventText)
    {
        var alert = Alert(ruleType, severity, state);

        using var payload = JsonDocument.Parse(AlertPayload.Serialize(new AlertStep(step, 2000, alert)));
        Assert.Equal(eventText, payload.RootElement.GetProperty("event").GetString());
        Assert.Equal(ruleTypeText, payload.RootElement.GetProperty("ruleType").GetString());
        Assert.Equal(severityText, payload.RootElement.GetProperty("severity").GetString());
        Assert.Equal(stateText, payload.RootElement.GetProperty("state").GetString());

        using var api = JsonDocument.Parse(JsonSerializer.Serialize(alert, Web));
        Assert.Equal(ruleTypeText, api.RootElement.GetProperty("ruleType").GetString());
        Assert.Equal(severityText, api.RootElement.GetProperty("severity").GetString());
        Assert.Equal(stateText, api.RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public void The_alerts_point_tags_severity_and_event_in_kebab_case()
    {
        var alert = Alert(AlertRuleType.Threshold, AlertSeverity.Critical, AlertState.Acknowledged) with { AcknowledgedAtMs = 5000, AcknowledgedBy = "kim" };

        var line = SeriesLines.Alert(new AlertStep(AlertEvent.Acknowledged, 5000, alert));

        Assert.StartsWith("alerts,building=b,event=acknowledged,room=r,rule=hot,sensor=s,severity=critical ", line, StringComparison.Ordinal);
        Assert.Contains("by=\"kim\"", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_clear_also_adds_its_time_to_the_raise_point_and_other_steps_write_one_point()
    {
        var alert = Alert(AlertRuleType.Threshold, AlertSeverity.Critical, AlertState.Cleared) with { ClearedAtMs = 9000, ClearedBy = "auto" };

        var cleared = SeriesLines.AlertLines(new AlertStep(AlertEvent.Cleared, 9000, alert)).ToList();

        Assert.Equal(2, cleared.Count);
        Assert.StartsWith("alerts,building=b,event=cleared,room=r,rule=hot,sensor=s,severity=critical ", cleared[0], StringComparison.Ordinal);
        // Same series and time as the raised point (raised at 1000): InfluxDB merges the field into it.
        Assert.Equal("alerts,building=b,event=raised,room=r,rule=hot,sensor=s,severity=critical cleared_at_ms=9000 1000", cleared[1]);

        Assert.Single(SeriesLines.AlertLines(new AlertStep(AlertEvent.Raised, 1000, alert with { State = AlertState.Active })));
        Assert.Single(SeriesLines.AlertLines(new AlertStep(AlertEvent.Acknowledged, 5000, alert with { State = AlertState.Acknowledged })));
    }

    [Fact]
    public void Campus_state_counts_alerts_by_kebab_case_severity_in_json_and_fields()
    {
        var counts = new Dictionary<AlertSeverity, int> { [AlertSeverity.Critical] = 2, [AlertSeverity.Info] = 1 };
        var state = new CampusState("c", "C", 0, 0, null, 0, null, 0, 0, counts, []);

        using var json = JsonDocument.Parse(JsonSerializer.Serialize(state, Web));
        var bySeverity = json.RootElement.GetProperty("activeAlertsBySeverity");
        Assert.Equal(2, bySeverity.GetProperty("critical").GetInt32());
        Assert.Equal(1, bySeverity.GetProperty("info").GetInt32());

        var line = SeriesLines.Campus(state, 1000);
        Assert.Contains("alerts_critical=2", line, StringComparison.Ordinal);
        Assert.Contains("alerts_warning=0", line, StringComparison.Ordinal);
        Assert.Contains("alerts_info=1", line, StringComparison.Ordinal);
    }

    [Fact]
    public void State_files_of_the_earlier_string_contracts_still_load()
    {
        // The alert index saved AlertInfo with kebab-case strings; the sensor state saved the engine's enums by name.
        const string indexEntry = """
            {"id":"s/r/1","building":"b","room":"r","sensor":"s","rule":"r","ruleType":"rate-of-change",
             "severity":"critical","state":"acknowledged","raisedAtMs":1,"value":2,"message":"m","flapping":false}
            """;
        var info = JsonSerializer.Deserialize<AlertInfo>(indexEntry, DurableFileGrainStorage.JsonOptions)!;
        Assert.Equal((AlertRuleType.RateOfChange, AlertSeverity.Critical, AlertState.Acknowledged), (info.RuleType, info.Severity, info.State));

        var pascal = JsonSerializer.Deserialize<AlertRuleType[]>("""["RateOfChange","FaultCode","Offline"]""", DurableFileGrainStorage.JsonOptions)!;
        Assert.Equal([AlertRuleType.RateOfChange, AlertRuleType.FaultCode, AlertRuleType.Offline], pascal);

        // What is written now reads back, in kebab case.
        var written = JsonSerializer.Serialize(info, DurableFileGrainStorage.JsonOptions);
        Assert.Contains("\"ruleType\":\"rate-of-change\"", written, StringComparison.Ordinal);
        Assert.Equal(info, JsonSerializer.Deserialize<AlertInfo>(written, DurableFileGrainStorage.JsonOptions));
    }

    [Theory]
    [InlineData("\"3\"")]
    [InlineData("3")]
    [InlineData("\"rate_of_change\"")]
    public void Unknown_wire_names_and_numbers_are_refused(string json) =>
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<AlertRuleType>(json, DurableFileGrainStorage.JsonOptions));

    static AlertInfo Alert(AlertRuleType ruleType, AlertSeverity severity, AlertState state) =>
        new("s/hot/1000", "b", "r", "s", "hot", ruleType, severity, state, 1000, 1, "m", null, null, null, null, null, false);

    static string Compact(string json) =>
        string.Concat(json.Split('\n').Select(l => l.Trim()));
}
