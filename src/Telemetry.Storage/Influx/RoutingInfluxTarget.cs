using Telemetry.Storage.Schema;

namespace Telemetry.Storage.Influx;

/// <summary>
/// Sends the long-retention measurements (roll-ups, state, alerts) to a second destination — another retention policy
/// or bucket — and everything else to the raw one. A batch is one attempt per destination; when the second fails
/// after the first succeeded, the retry writes the first part again, which InfluxDB takes as an overwrite of the same
/// points.
/// </summary>
public sealed class RoutingInfluxTarget(IInfluxTarget raw, IInfluxTarget longRetention, IReadOnlySet<string> longMeasurements) : IInfluxTarget
{
    public async Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var rawLines = new List<string>(lines.Count);
        var longLines = new List<string>();
        foreach (var line in lines)
        {
            (longMeasurements.Contains(SeriesLines.MeasurementOf(line)) ? longLines : rawLines).Add(line);
        }

        if (rawLines.Count > 0)
        {
            await raw.WriteAsync(rawLines, cancellationToken);
        }

        if (longLines.Count > 0)
        {
            await longRetention.WriteAsync(longLines, cancellationToken);
        }
    }

    public Task<bool> PingAsync(CancellationToken cancellationToken) => raw.PingAsync(cancellationToken);

    public string Describe() => $"{raw.Describe()}; long retention: {longRetention.Describe()}";
}
