namespace Telemetry.DeviceSim.Progress;

/// <summary>
/// Writes one line per snapshot with rates since the previous one, e.g.
/// <c>t=12s devices 130/130 sent 26/s acked 26/s refused 0 failed 0 pending 0</c>.
/// <paramref name="interval"/> is the nominal reporting interval (default one second); a final, shorter interval
/// is not extrapolated (its rates would be inflated by the short time).
/// </summary>
public sealed class ConsoleProgress(TextWriter writer, TimeSpan? interval = null) : IProgress<ProgressSnapshot>
{
    readonly double _nominalSeconds = (interval ?? TimeSpan.FromSeconds(1)).TotalSeconds;

    ProgressSnapshot? _previous;

    public void Report(ProgressSnapshot value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var seconds = Math.Max(_nominalSeconds, (value.Elapsed - (_previous?.Elapsed ?? TimeSpan.Zero)).TotalSeconds);
        var sent = Rate(value.MessagesSent, _previous?.MessagesSent ?? 0, seconds);
        var acked = Rate(value.MessagesAcked, _previous?.MessagesAcked ?? 0, seconds);
        var line = $"t={value.Elapsed.TotalSeconds:0}s devices {value.Connected}/{value.Devices} sent {sent:0}/s acked {acked:0}/s "
                   + $"refused {value.MessagesRefused} failed {value.MessagesFailed} pending {value.InFlight}";
        if (value.SimulatedTime is { } simulated)
        {
            line = $"t={value.Elapsed.TotalSeconds:0}s sim {simulated.UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture)}Z" + line[line.IndexOf(' ', StringComparison.Ordinal)..];
        }

        if (value.ReadingsStored > 0 || value.MalformedSent > 0)
        {
            line += $" stored {value.ReadingsStored} malformed {value.MalformedSent}";
        }

        if (value.ConnectFailures > 0 || value.Reconnects > 0)
        {
            line += $" connect-failures {value.ConnectFailures} reconnects {value.Reconnects}";
        }

        writer.WriteLine(line);
        _previous = value;
    }

    static double Rate(long now, long before, double seconds) => (now - before) / seconds;
}
