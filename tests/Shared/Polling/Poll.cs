using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Telemetry.Tests.Polling;

/// <summary>
/// The one way tests and benchmarks wait for something that happens on its own schedule (a drainer, a grain timer, a
/// reload, a server starting): read, check, read again a moment later, and FAIL at the deadline, naming what was waited
/// for, the last value read and the last exception the read threw. A poll can never end quietly with a value that
/// does not fulfil its condition.
/// </summary>
/// <remarks>
/// Hand-written rather than a library: xunit has no polling assertion, and the few polling libraries (Polly's retry,
/// Awaitility ports) either do not report the last value or bring a dependency into the benchmark harness too. The
/// rules are small: the read is retried when it throws (a server still starting, a measurement not created yet); only
/// cancellation of <c>cancellationToken</c> ends a poll early; the read is attempted at least once even when the
/// deadline is zero.
/// </remarks>
public static class Poll
{
    /// <summary>When no deadline is given.</summary>
    public static readonly TimeSpan DefaultWithin = TimeSpan.FromSeconds(30);

    /// <summary>Pause between two reads when none is given.</summary>
    public static readonly TimeSpan DefaultEvery = TimeSpan.FromMilliseconds(25);

    const int MaxShownLength = 2000;
    const int MaxShownItems = 10;

    /// <summary>
    /// Reads until <paramref name="condition"/> holds for the value read, and returns that value; throws
    /// <see cref="TimeoutException"/> when it does not hold by <paramref name="within"/>.
    /// </summary>
    /// <param name="waitingFor">What is awaited, completing "waiting for …", e.g. "both readings of lc-air in InfluxDB".</param>
    /// <param name="read">Reads the current state; an exception counts as "not yet" and is reported at the deadline.</param>
    /// <param name="condition">True when the value read is the one awaited.</param>
    /// <param name="within">The deadline (30 s when null).</param>
    /// <param name="show">Formats the last value for the failure message (by default: JSON raw text, the first items of a collection, or ToString).</param>
    /// <param name="every">Pause between reads (25 ms when null).</param>
    /// <param name="cancellationToken">Ends the poll early with <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="TimeoutException">The condition did not hold by the deadline; the inner exception is the read's last one.</exception>
    public static async Task<T> UntilAsync<T>(
        string waitingFor,
        Func<Task<T>> read,
        Func<T, bool> condition,
        TimeSpan? within = null,
        Func<T, string>? show = null,
        TimeSpan? every = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(waitingFor);
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(condition);
        var limit = within ?? DefaultWithin;
        var clock = Stopwatch.StartNew();
        var reads = 0;
        var values = 0;
        T last = default!;
        Exception? lastError = null;
        var lastErrorRead = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            reads++;
            try
            {
                last = await read();
                values++;
                if (condition(last))
                {
                    return last;
                }
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                lastError = ex;
                lastErrorRead = reads;
            }

            if (clock.Elapsed >= limit)
            {
                throw new TimeoutException(
                    Describe($"Timed out after {Seconds(limit)} waiting for {waitingFor} ({reads} reads).", last, values, show, lastError, lastErrorRead, reads),
                    lastError);
            }

            await Task.Delay(every ?? DefaultEvery, cancellationToken);
        }
    }

    /// <summary>
    /// The opposite check, for a span of time that is itself under test ("the spool stays full for 2 s"): reads for
    /// <paramref name="during"/> and throws <see cref="InvalidOperationException"/> at the first value for which
    /// <paramref name="condition"/> does not hold, or when a read throws. Returns the last value read.
    /// </summary>
    /// <param name="holding">What must hold, completing "expected … to hold", e.g. "the spool to stay full".</param>
    public static async Task<T> ThroughoutAsync<T>(
        string holding,
        Func<Task<T>> read,
        Func<T, bool> condition,
        TimeSpan during,
        Func<T, string>? show = null,
        TimeSpan? every = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(holding);
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(condition);
        var clock = Stopwatch.StartNew();
        var reads = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            reads++;
            T value;
            try
            {
                value = await read();
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                throw new InvalidOperationException(
                    $"Expected {holding} for {Seconds(during)}, but read {reads} threw after {Seconds(clock.Elapsed)}: {ex.GetType().Name}: {ex.Message}", ex);
            }

            if (!condition(value))
            {
                throw new InvalidOperationException(
                    $"Expected {holding} for {Seconds(during)}, but it stopped holding after {Seconds(clock.Elapsed)} (read {reads}). Value: {Show(value, show)}");
            }

            if (clock.Elapsed >= during)
            {
                return value;
            }

            await Task.Delay(every ?? DefaultEvery, cancellationToken);
        }
    }

    /// <summary>How a value appears in a failure message (also used by tests that format their own messages).</summary>
    public static string Show<T>(T value, Func<T, string>? show = null)
    {
        string text;
        try
        {
            text = show is not null ? show(value) : Format(value);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            text = $"(could not be shown: {ex.Message})";
        }

        return text.Length <= MaxShownLength ? text : string.Concat(text.AsSpan(0, MaxShownLength), $"… ({text.Length} characters)");
    }

    static string Describe<T>(string headline, T last, int values, Func<T, string>? show, Exception? lastError, int lastErrorRead, int reads)
    {
        var message = new StringBuilder(headline);
        message.AppendLine();
        message.Append(values == 0 ? "No read returned a value." : $"Last value: {Show(last, show)}");
        if (lastError is not null)
        {
            message.AppendLine();
            message.Append(CultureInfo.InvariantCulture, $"Last exception (read {lastErrorRead} of {reads}): {lastError.GetType().Name}: {lastError.Message}");
        }

        return message.ToString();
    }

    static string Format(object? value) => value switch
    {
        null => "null",
        string text => $"\"{text}\"",
        JsonElement json => json.ValueKind == JsonValueKind.Undefined ? "(undefined JSON element)" : json.GetRawText(),
        IEnumerable items => FormatItems(items),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    static string FormatItems(IEnumerable items)
    {
        var shown = new List<string>();
        var count = 0;
        foreach (var item in items)
        {
            if (count++ < MaxShownItems)
            {
                shown.Add(Format(item));
            }
        }

        return count > MaxShownItems
            ? $"[{string.Join(", ", shown)}, …] ({count} items)"
            : $"[{string.Join(", ", shown)}] ({count} items)";
    }

    static string Seconds(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.###} s");
}
