using System.Text.Json;
using Microsoft.Extensions.Logging;
using Telemetry.Domain.Observability;
using Telemetry.Storage.Influx;

namespace Telemetry.Storage.Drain;

/// <summary>
/// Lines InfluxDB refused on their own (400, 413, 422 for a single line) go to
/// <c>{Spool:Path}/dead-letter/YYYY-MM-DD.jsonl</c>, one JSON object per line with the time, the HTTP status and
/// InfluxDB's reason, so nothing leaves the spool silently. Counted by reason.
/// </summary>
public sealed class DeadLetters(string directory, TelemetryMetrics metrics, ILogger logger, TimeProvider time)
{
    readonly Lock gate = new();

    public string Directory { get; } = directory;

    public void Write(string line, InfluxWriteException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var now = time.GetUtcNow();
        var entry = JsonSerializer.Serialize(new DeadLetter(now, error.StatusCode, error.Reason, error.Message, line));
        var path = Path.Combine(Directory, $"{now:yyyy-MM-dd}.jsonl");
        lock (gate)
        {
            System.IO.Directory.CreateDirectory(Directory);
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            using (var writer = new StreamWriter(stream))
            {
                writer.WriteLine(entry);
            }
        }

        metrics.LinesDeadLettered.Add(1, new KeyValuePair<string, object?>("reason", error.Reason));
        logger.LogWarning("InfluxDB rejected a line ({Reason}); moved it to the dead-letter file {Path}: {Error}",
            error.Reason, path, error.Message);
    }

    sealed record DeadLetter(DateTimeOffset At, int? Status, string Reason, string Error, string Line);
}
