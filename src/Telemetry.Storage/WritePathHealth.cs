using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Telemetry.Domain.Observability;

namespace Telemetry.Storage;

/// <summary>
/// The write path's resource errors (EMFILE, ENOSPC, an unwritable file, out of memory…), by stage: each error is
/// counted on <c>telemetry.write_path.errors{stage,reason}</c> and logged — at most one line per stage and reason every
/// <see cref="LogInterval"/>; a stage stays <see cref="Failing"/> (and <c>/health/ready</c> Degraded) until it next
/// succeeds, which is logged once. The loops that report here retry with backoff instead of ending, so a resource that
/// comes back is used again without a restart.
/// </summary>
public sealed class WritePathHealth(TelemetryMetrics metrics, ILogger logger, TimeProvider time)
{
    static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(30);

    readonly ConcurrentDictionary<string, StageFailure> failing = new(StringComparer.Ordinal);
    readonly LogThrottle throttle = new(LogInterval, time);

    /// <summary>The stages failing now, with when they started failing and the last error.</summary>
    public IReadOnlyDictionary<string, StageFailure> Failing => failing;

    /// <summary><paramref name="stage"/> (a fixed name, e.g. <c>spool_checkpoint</c>) failed with <paramref name="error"/>.</summary>
    public void Failed(string stage, Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var reason = ReasonOf(error);
        metrics.WritePathErrors.Add(1, new KeyValuePair<string, object?>("stage", stage), new KeyValuePair<string, object?>("reason", reason));
        var now = time.GetUtcNow();
        failing.AddOrUpdate(stage,
            static (_, state) => new StageFailure(state.now, state.reason, state.error.Message),
            static (_, old, state) => old with { Reason = state.reason, Error = state.error.Message },
            (now, reason, error));
        if (throttle.ShouldLog($"{stage}/{reason}", out var suppressed))
        {
            logger.LogError("Write path stage {Stage} failed ({Reason}), retrying with backoff; nothing is acknowledged that is not durable: {Error} ({Suppressed} similar errors not logged since the last line)",
                stage, reason, error.Message, suppressed);
        }
    }

    /// <summary><paramref name="stage"/> succeeded: if it was failing, it has recovered.</summary>
    public void Succeeded(string stage)
    {
        if (!failing.IsEmpty && failing.TryRemove(stage, out var was))
        {
            logger.LogInformation("Write path stage {Stage} works again after {Duration} ({Reason})", stage, time.GetUtcNow() - was.Since, was.Reason);
        }
    }

    /// <summary>A small fixed set of labels (never the message): <c>too_many_open_files</c>, <c>no_space</c>, …</summary>
    public static string ReasonOf(Exception error) => error switch
    {
        OutOfMemoryException or InsufficientMemoryException => "out_of_memory",
        UnauthorizedAccessException => "access_denied",
        InvalidDataException => "damaged",
        FileNotFoundException or DirectoryNotFoundException => "not_found",
        // On Unix, .NET puts the errno in HResult of the IOExceptions it raises for a failed system call.
        IOException { HResult: 24 or 23 } => "too_many_open_files", // EMFILE, ENFILE
        IOException { HResult: 28 or 122 } => "no_space", // ENOSPC, EDQUOT
        IOException { HResult: 30 } => "read_only", // EROFS
        IOException { HResult: 21 or 20 } => "not_a_file", // EISDIR, ENOTDIR
        IOException => "io_error",
        _ => "unexpected",
    };
}

/// <summary>A failing stage: since when, and the last error's reason and message.</summary>
public sealed record StageFailure(DateTimeOffset Since, string Reason, string Error);
