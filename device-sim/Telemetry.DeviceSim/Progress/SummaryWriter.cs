using System.Globalization;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Telemetry.Domain.Configuration;

namespace Telemetry.DeviceSim.Progress;

/// <summary>The human-readable end-of-run summary.</summary>
public static class SummaryWriter
{
    public static void Write(TextWriter writer, SimulationSummary summary)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(summary);
        var version = summary.ProtocolVersion == MqttProtocolVersion.V500 ? "5" : "3.1.1";
        var qos = summary.Qos == MqttQualityOfServiceLevel.AtMostOnce ? 0 : 1;
        writer.WriteLine($"summary: {DurationText.Format(summary.Elapsed)}, MQTT {version}, QoS {qos}, seed {summary.Seed}");
        if (summary.Speed != 1 || summary.Backfill || summary.Faults.Count > 0)
        {
            writer.WriteLine($"  simulated       {Time(summary.SimulatedStart)} .. {Time(summary.SimulatedEnd)} ({DurationText.Format(summary.SimulatedEnd - summary.SimulatedStart)}, {(summary.Backfill ? "backfill" : "speed " + summary.Speed.ToString(CultureInfo.InvariantCulture))})");
        }

        writer.WriteLine($"  devices         {summary.DevicesConnected}/{summary.Devices} connected, {summary.ConnectFailures} connect failures, {summary.Reconnects} reconnects");
        writer.WriteLine($"  sent            {summary.MessagesSent} messages, {summary.ReadingsSent} readings");
        if (qos == 1)
        {
            writer.WriteLine($"  acked           {summary.MessagesAcked} messages, {summary.ReadingsAcked} readings");
            var reasons = string.Join(", ", summary.RefusedByReason.Select(r => $"{r.Key} (0x{(int)r.Key:X2}) × {r.Value}"));
            writer.WriteLine($"  refused         {summary.MessagesRefused}{(reasons.Length > 0 ? $": {reasons}" : "")}");
        }

        writer.WriteLine($"  failed          {summary.MessagesFailed}");
        writer.WriteLine($"  abandoned       {summary.MessagesAbandoned} (awaiting PUBACK at shutdown)");
        if (qos == 1)
        {
            writer.WriteLine($"  unacknowledged  {summary.MessagesUnacknowledged}");
        }

        if (summary.ConnectivityLosses > 0 || summary.ReadingsStored > 0 || summary.ReadingsSkipped > 0 || summary.ReadingsDropped > 0)
        {
            writer.WriteLine($"  connectivity    {summary.ConnectivityLosses} losses, {summary.ReadingsStored} readings stored and forwarded, " +
                             $"{summary.ReadingsSkipped} not taken while offline, {summary.ReadingsDropped} dropped (store full)");
        }

        if (summary.MalformedSent > 0)
        {
            writer.WriteLine($"  malformed       {summary.MalformedSent} sent on purpose, {summary.MalformedRefused} refused as expected");
        }

        writer.WriteLine($"  faults          {summary.Faults.Count}");
        foreach (var fault in summary.Faults)
        {
            writer.WriteLine($"    {fault.Fault,-18} {fault.Sensor,-28} {Time(fault.Start)} .. {Time(fault.End)}{(fault.Completed ? "" : " (run stopped first)")}");
        }

        foreach (var (error, count) in summary.Errors)
        {
            writer.WriteLine($"  error × {count}: {error}");
        }

        writer.WriteLine(summary.Succeeded
            ? qos == 1 ? "result: OK, every message was acknowledged" : "result: OK, every message was sent"
            : "result: FAILED, see the counts above");
    }

    static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
