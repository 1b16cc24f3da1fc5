using System.Globalization;

namespace Telemetry.Storage.Reports;

/// <summary>
/// Where the write pipeline tells the reports that late readings reached InfluxDB. The drainer calls
/// <see cref="Note"/> with every batch right after InfluxDB took it (before the spool acknowledges it), so a day is
/// marked dirty only once its readings can be read back.
/// </summary>
public interface IReportMarks
{
    /// <summary>Notes the raw readings of a written batch; cheap (no allocation per line) and never throws.</summary>
    void Note(IReadOnlyList<string> lines);
}

/// <summary>Reports are off (<c>Reports:Enabled=false</c>): nothing is noted.</summary>
public sealed class NoReportMarks : IReportMarks
{
    public static NoReportMarks Instance { get; } = new();

    public void Note(IReadOnlyList<string> lines)
    {
    }
}

/// <summary>
/// The UTC hours (start, Unix ms) of raw <c>telemetry</c> lines written to InfluxDB whose timestamp is older than the
/// start of the current UTC hour: readings that arrived after their hour could have been reported. Current readings
/// need no mark (their hour is computed when it closes). The set holds hour starts only, so it stays small: readings
/// older than <c>Ingest:MaxAge</c> are refused at the broker and future ones are never older than the current hour,
/// which bounds it by MaxAge in hours (720 for 30 days). A forwarder takes the hours (<see cref="Take"/>) and hands
/// them to the report grain, putting them back (<see cref="Return"/>) when that fails.
/// </summary>
public sealed class ReportMarks(TimeProvider time) : IReportMarks
{
    const long HourMs = 3_600_000;

    readonly Lock gate = new();
    HashSet<long> pending = [];

    /// <summary>Hours noted and not yet taken.</summary>
    public int Pending
    {
        get
        {
            lock (gate)
            {
                return pending.Count;
            }
        }
    }

    public void Note(IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var currentHour = HourOf(time.GetUtcNow().ToUnixTimeMilliseconds());
        var last = long.MinValue;
        List<long>? hours = null;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (!RawLineParser.IsRaw(line) || !TryTimestamp(line, out var timestampMs))
            {
                continue;
            }

            var hour = HourOf(timestampMs);
            // Lines of one message share their hour: skip repeats without touching the set.
            if (hour < currentHour && hour != last)
            {
                (hours ??= []).Add(hour);
                last = hour;
            }
        }

        if (hours is null)
        {
            return;
        }

        lock (gate)
        {
            pending.UnionWith(hours);
        }
    }

    /// <summary>Takes every pending hour, sorted (empty when none).</summary>
    public long[] Take()
    {
        HashSet<long> taken;
        lock (gate)
        {
            if (pending.Count == 0)
            {
                return [];
            }

            taken = pending;
            pending = [];
        }

        var hours = taken.ToArray();
        Array.Sort(hours);
        return hours;
    }

    /// <summary>Puts hours back that could not be handed over; they go with the next <see cref="Take"/>.</summary>
    public void Return(IReadOnlyCollection<long> hours)
    {
        ArgumentNullException.ThrowIfNull(hours);
        lock (gate)
        {
            pending.UnionWith(hours);
        }
    }

    /// <summary>The start of the UTC hour holding <paramref name="timestampMs"/> (also before 1970).</summary>
    public static long HourOf(long timestampMs) => Math.DivRem(timestampMs, HourMs, out var rest) * HourMs - (rest < 0 ? HourMs : 0);

    /// <summary>
    /// The timestamp of a raw line: the text after its last space. Field values are floats and keys escape their
    /// spaces, so the last unescaped space is the last space. Reading only that is what keeps <see cref="Note"/>
    /// cheap (the full parser, <see cref="RawLineParser.ParseLine"/>, would allocate every tag and field).
    /// </summary>
    static bool TryTimestamp(string line, out long timestampMs)
    {
        var space = line.LastIndexOf(' ');
        timestampMs = 0;
        return space > 0 && long.TryParse(line.AsSpan(space + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out timestampMs);
    }
}
