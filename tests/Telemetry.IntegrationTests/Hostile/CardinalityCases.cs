using System.Globalization;
using MQTTnet.Protocol;
using static Telemetry.IntegrationTests.Hostile.ScriptClients;
using F = Telemetry.IntegrationTests.Hostile.HostileFixture;

namespace Telemetry.IntegrationTests.Hostile;

/// <summary>
/// Cardinality attacks from one client: invented sensor ids beyond <c>Ingest:MaxNewUnregisteredSensorsPerMinute</c>
/// (<c>too_many_new_sensors</c>) and invented metric names beyond <c>Ingest:MaxMetricsPerSensor</c>
/// (<c>sensor_metric_limit</c>), both MQTT 5 0x97; what was accepted before the limit is stored, nothing beyond it.
/// </summary>
/// <remarks>
/// The new-sensor budget is shared by the node: the invented ids run in the second round, when every sensor the rest
/// of the corpus creates exists already, so only the budget left decides (how much is left the script sees; every id
/// after the first refusal must be refused). (<c>unregistered_sensor_limit</c>, the total since start, is checked
/// before the per-minute one and cannot be reached in the same run: Faults.CardinalityLimitTests covers it.)
/// </remarks>
public sealed class CardinalityCases : IHostileCaseSource
{
    public string Category => "cardinality";

    const byte QuotaExceeded = (byte)MqttPubAckReasonCode.QuotaExceeded;

    public IEnumerable<HostileCase> Cases(Markers markers)
    {
        const int Sensors = F.MaxNewUnregisteredSensorsPerMinute + 50;
        yield return new HostileCase(Category, $"{Sensors} invented unregistered sensor ids from one client", markers.Next(), new ScriptAction(async context =>
        {
            var client = await ConnectAsync(context, context.Case.Marker);
            try
            {
                var accepted = new List<string>();
                var refused = new List<string>();
                var wrong = new List<string>();
                for (var i = 0; i < Sensors; i++)
                {
                    var sensor = string.Create(CultureInfo.InvariantCulture, $"{context.Case.Marker}-n{i:D3}");
                    var result = await PublishAsync(client, Shapes.Topic(sensor), "{\"temperature\":1}", context.Ct);
                    if (result.IsSuccess && refused.Count == 0)
                    {
                        accepted.Add(sensor);
                    }
                    else if (IsRefusal(result, "too_many_new_sensors", QuotaExceeded))
                    {
                        refused.Add(sensor);
                    }
                    else
                    {
                        wrong.Add($"{sensor}: {Show(result)}");
                    }
                }

                return new ScriptResult(wrong.Count == 0 && refused.Count >= Sensors - F.MaxNewUnregisteredSensorsPerMinute && client.IsConnected,
                    $"{accepted.Count} accepted, then {refused.Count} refused too_many_new_sensors" + (wrong.Count > 0 ? "; unexpected: " + string.Join("; ", wrong.Take(3)) : ""))
                {
                    Counted = [(Counter.Messages, "too_many_new_sensors", refused.Count)],
                    MustBeStored = accepted,
                    MustNotBeStored = [.. refused, .. wrong.Select(w => w[..w.IndexOf(':', StringComparison.Ordinal)])],
                };
            }
            finally
            {
                await DisposeAsync(client);
            }
        }), Expectation.Scripted($"accepted up to the minute's budget (at most {F.MaxNewUnregisteredSensorsPerMinute}), then every one refused 0x97 too_many_new_sensors")) { OnlyInRound = 1 };

        const int Metrics = F.MaxMetricsPerSensor + 36;
        yield return new HostileCase(Category, $"{Metrics} invented metric names for one registered sensor", markers.Next(), new ScriptAction(async context =>
        {
            var client = await ConnectAsync(context, context.Case.Marker);
            try
            {
                var names = Enumerable.Range(0, Metrics).Select(i => string.Create(CultureInfo.InvariantCulture, $"{context.Case.Marker}m{i:D3}")).ToList();
                var seen = new List<(string Name, bool Ok, bool Refused, string Show)>();
                foreach (var name in names)
                {
                    var result = await PublishAsync(client, $"campus/hb/hr/{F.CardinalitySensor}/telemetry", $"{{\"{name}\":1}}", context.Ct);
                    seen.Add((name, result.IsSuccess, IsRefusal(result, "sensor_metric_limit", QuotaExceeded), Show(result)));
                }

                var met = seen.Take(F.MaxMetricsPerSensor).All(s => s.Ok) && seen.Skip(F.MaxMetricsPerSensor).All(s => s.Refused) && client.IsConnected;
                var firstWrong = seen.Select((s, i) => (s, i)).FirstOrDefault(x => x.i < F.MaxMetricsPerSensor ? !x.s.Ok : !x.s.Refused);
                return new ScriptResult(met, $"{seen.Count(s => s.Ok)} accepted, {seen.Count(s => s.Refused)} refused sensor_metric_limit"
                    + (met ? "" : $"; first unexpected: #{firstWrong.i} {firstWrong.s.Show}"))
                {
                    Counted = [(Counter.Messages, "sensor_metric_limit", seen.Count(s => s.Refused))],
                    MustBeStored = names[..F.MaxMetricsPerSensor],
                    MustNotBeStored = names[F.MaxMetricsPerSensor..],
                };
            }
            finally
            {
                await DisposeAsync(client);
            }
        }), Expectation.Scripted($"the first {F.MaxMetricsPerSensor} accepted and stored, then each refused 0x97 sensor_metric_limit")) { OnlyInRound = 0 };
    }
}
