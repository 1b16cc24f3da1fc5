using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Domain.Campus;
using Telemetry.Domain.Ingest;
using Telemetry.Domain.Observability;
using Telemetry.Domain.Reports;
using Telemetry.Grains.Persistence;
using Telemetry.Storage;
using Telemetry.Storage.Influx;
using Telemetry.Storage.Schema;

namespace Telemetry.Grains.Reports;

/// <summary>The report grain's persisted state: dirty local dates (<c>yyyy-MM-dd</c>) and the end of the last closed hour.</summary>
public sealed class ReportGrainState
{
    public List<string> DirtyDays { get; set; } = [];

    public long LastClosedHourEndMs { get; set; }
}

/// <summary>
/// Computes the hourly and daily report points (docs/reports.md, "How reports are computed"): one local day of the
/// campus calendar at a time, from the raw readings in InfluxDB, one InfluxQL query per building, through the pure
/// <see cref="DayReport"/>; all points of the day are written through the spool (<see cref="ITelemetryWriter.WriteDerivedAsync"/>),
/// so a recomputation rewrites the same series and timestamps and corrects rather than adds.
/// <para>
/// A day is dirty when one of its hours closed (<c>Reports:Settle</c> after its end), when late readings of it reached
/// InfluxDB (<see cref="MarkAsync"/>, from every node's mark forwarder), when a later day closed within
/// <c>Reports:RecheckDays</c>, or when an operator asked (<see cref="RecomputeAsync"/>). Every <c>Reports:Interval</c>
/// the grain works the dirty days oldest first, at most <c>Reports:MaxDaysPerTick</c>; a day whose query or write
/// fails stays dirty (counted, logged) and goes behind the days that do not fail. The dirty set is persisted after
/// every change, so a restart or a move to another node resumes it.
/// </para>
/// <para>
/// Kept alive like the campus grain: a timer with <c>KeepAlive</c> and a reminder (<see cref="ReminderName"/>) that
/// activates it again on a surviving node after its node died.
/// </para>
/// </summary>
public sealed class ReportGrain(
    [PersistentState("reports", GrainStorage.Name)] IPersistentState<ReportGrainState> state,
    ICampusRegistrySource registry,
    IInfluxQuery influx,
    ITelemetryWriter writer,
    IOptions<ReportOptions> options,
    IOptions<ReminderOptions> reminderOptions,
    TelemetryMetrics metrics,
    TimeProvider time,
    ILogger<ReportGrain> logger) : Grain, IReportGrain, IRemindable
{
    /// <summary>The reminder that brings the report grain back after its node died.</summary>
    public const string ReminderName = "reports-keepalive";

    /// <summary>Lines per spool record: a day of a large campus is tens of thousands of points.</summary>
    const int WriteChunk = 2000;

    readonly SortedSet<DateOnly> dirty = [];
    /// <summary>Failures per dirty day since activation: a day that keeps failing goes behind those that do not.</summary>
    readonly Dictionary<DateOnly, int> failures = [];
    readonly LogThrottle failureLog = new(TimeSpan.FromMinutes(1), time);
    (string Zone, LocalCalendar Calendar)? calendar;
    long daysComputed;
    string? lastFailure;
    readonly KeepAliveReminder keepAlive = new(ReminderName);

    ReportOptions Options => options.Value;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var text in state.State.DirtyDays)
        {
            if (LocalCalendar.TryParseDate(text, out var day))
            {
                dirty.Add(day);
            }
        }

        metrics.SetReportDirtyDays(dirty.Count);
        if (Options.Enabled)
        {
            this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(TimeSpan.FromSeconds(1), Options.Interval) { KeepAlive = true });
        }

        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.SetReportDirtyDays(0);
        return Task.CompletedTask;
    }

    /// <summary>Nothing to do: the reminder only brings this grain back (its timer does the work). Reports turned off: it ends itself.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!Options.Enabled)
        {
            if (await this.GetReminder(reminderName) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            DeactivateOnIdle();
        }
    }

    public async Task MarkAsync(long[] hourStartsMs)
    {
        ArgumentNullException.ThrowIfNull(hourStartsMs);
        await KeepReminderAsync();
        if (hourStartsMs.Length == 0 || !Options.Enabled || CalendarOf(registry.Current) is not { } cal)
        {
            return;
        }

        var now = time.GetUtcNow();
        var added = 0;
        var tooLate = 0;
        long oldestTooLate = long.MaxValue;
        foreach (var hour in hourStartsMs)
        {
            if (ReportSchedule.IsTooLate(hour, now, Options.Lateness))
            {
                tooLate++;
                oldestTooLate = Math.Min(oldestTooLate, hour);
                continue;
            }

            foreach (var day in ReportSchedule.DaysOfMark(cal, hour, Options.Lookback))
            {
                added += dirty.Add(day) ? 1 : 0;
            }
        }

        metrics.ReportMarks.Add(hourStartsMs.Length - tooLate);
        if (tooLate > 0)
        {
            metrics.ReportMarksTooLate.Add(tooLate);
            if (failureLog.ShouldLog("too_late", out var suppressed))
            {
                logger.LogWarning("Reports: {Count} hour(s) of readings written to InfluxDB are older than Reports:Lateness ({Lateness}), the oldest from {Oldest:u}; their days are not computed again ({Suppressed} more such lines held back)",
                    tooLate, Options.Lateness, DateTimeOffset.FromUnixTimeMilliseconds(oldestTooLate), suppressed);
            }
        }

        if (added > 0)
        {
            await SaveAsync();
        }
    }

    public async Task<int> RecomputeAsync(DateOnly from, DateOnly to)
    {
        await KeepReminderAsync();
        var marked = 0;
        for (var day = from; day <= to; day = day.AddDays(1))
        {
            dirty.Add(day);
            failures.Remove(day);
            marked++;
        }

        if (marked > 0)
        {
            await SaveAsync();
        }

        logger.LogInformation("Reports: {Days} day(s) from {From} to {To} marked for recomputation on request", marked, LocalCalendar.FormatDate(from), LocalCalendar.FormatDate(to));
        return marked;
    }

    public Task<ReportStatus> GetStatusAsync() => Task.FromResult(new ReportStatus(
        [.. dirty.Select(d => LocalCalendar.FormatDate(d))], state.State.LastClosedHourEndMs, daysComputed, lastFailure));

    async Task TickAsync(CancellationToken cancellationToken)
    {
        await KeepReminderAsync();
        var current = registry.Current;
        if (CalendarOf(current) is not { } cal)
        {
            return;
        }

        var (closedDays, closedUntil) = ReportSchedule.CloseHours(cal, state.State.LastClosedHourEndMs, time.GetUtcNow(),
            Options.Settle, Options.Lateness, Options.RecheckDays);
        var changed = closedUntil != state.State.LastClosedHourEndMs;
        foreach (var day in closedDays)
        {
            changed |= dirty.Add(day);
        }

        state.State.LastClosedHourEndMs = closedUntil;
        if (changed)
        {
            await SaveAsync();
        }

        var work = dirty.OrderBy(d => failures.GetValueOrDefault(d)).ThenBy(d => d).Take(Options.MaxDaysPerTick).ToList();
        foreach (var day in work)
        {
            var failure = await ComputeDayAsync(current, cal, day, cancellationToken);
            if (failure is null)
            {
                dirty.Remove(day);
                failures.Remove(day);
                daysComputed++;
                metrics.ReportDaysComputed.Add(1);
                await SaveAsync();
                continue;
            }

            failures[day] = failures.GetValueOrDefault(day) + 1;
            if (failure is "query" or "write")
            {
                break; // InfluxDB or the spool is in trouble: the other days would fail the same way; next tick
            }
        }
    }

    /// <summary>Computes and writes one local day; null when done, else the failure's reason (counted and logged here).</summary>
    async Task<string?> ComputeDayAsync(CampusRegistry current, LocalCalendar cal, DateOnly date, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var day = cal.Day(date);
        var settings = Options.ToSettings();
        var results = new List<DayReportResult>(current.Buildings.Count);
        foreach (var building in current.Buildings)
        {
            IReadOnlyList<QuerySeries> series;
            try
            {
                series = await influx.QueryAsync(ReadingsQuery(building.Id, day.StartUtc - Options.Lookback, day.EndUtc + Options.Lookback), cancellationToken);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return Failed("query", date, ex);
            }

            try
            {
                results.Add(DayReport.Compute(new DayReportInput(cal, day, current, building, ReadingsOf(building, series), settings)));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return Failed("compute", date, ex);
            }
        }

        IReadOnlyList<string> lines;
        try
        {
            var campus = DayReport.Combine(current.Campus.Id, day, results, settings);
            lines = ReportLinesOf(results, campus);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Failed("compute", date, ex);
        }

        try
        {
            foreach (var chunk in lines.Chunk(WriteChunk))
            {
                await writer.WriteDerivedAsync(chunk, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Failed("write", date, ex);
        }

        metrics.ReportComputeDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return null;
    }

    /// <summary>
    /// The raw readings of one building's registered sensors in [from, to): tags are matched exactly, the
    /// <c>unregistered</c> tag excluded (rows without the tag match <c>!= 'true'</c> on InfluxDB 1.x, checked on 1.6.7).
    /// </summary>
    public static string ReadingsQuery(string building, DateTimeOffset from, DateTimeOffset to) =>
        $"SELECT * FROM {InfluxQuery.Quote(LineProtocol.Measurement)} WHERE {InfluxQuery.Quote(Domain.Schema.TagKeys.Building)} = {InfluxQuery.Literal(building)}"
        + $" AND time >= {from.ToUnixTimeMilliseconds()}ms AND time < {to.ToUnixTimeMilliseconds()}ms"
        + $" AND {InfluxQuery.Quote(Domain.Schema.TagKeys.Unregistered)} != 'true' GROUP BY {InfluxQuery.Quote(Domain.Schema.TagKeys.Sensor)}";

    /// <summary>The readings per registered sensor of <paramref name="building"/>: the numeric columns of each row (tags are strings).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<RawReading>> ReadingsOf(Building building, IReadOnlyList<QuerySeries> series)
    {
        ArgumentNullException.ThrowIfNull(building);
        ArgumentNullException.ThrowIfNull(series);
        var registered = building.Rooms.SelectMany(r => r.Sensors).Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var readings = new Dictionary<string, List<RawReading>>(StringComparer.Ordinal);
        foreach (var s in series)
        {
            var sensor = s.Tag(Domain.Schema.TagKeys.Sensor);
            var timeColumn = s.Column("time");
            if (!registered.Contains(sensor) || timeColumn < 0)
            {
                continue;
            }

            if (!readings.TryGetValue(sensor, out var list))
            {
                readings[sensor] = list = [];
            }

            foreach (var row in s.Rows)
            {
                var values = new Dictionary<string, double>(StringComparer.Ordinal);
                for (var i = 0; i < row.Count && i < s.Columns.Count; i++)
                {
                    if (i != timeColumn && row[i].ValueKind == JsonValueKind.Number)
                    {
                        values[s.Columns[i]] = row[i].GetDouble();
                    }
                }

                if (values.Count > 0)
                {
                    list.Add(new RawReading(row[timeColumn].GetInt64(), values));
                }
            }
        }

        return readings.ToDictionary(p => p.Key, p => (IReadOnlyList<RawReading>)p.Value, StringComparer.Ordinal);
    }

    static IReadOnlyList<string> ReportLinesOf(IReadOnlyList<DayReportResult> buildings, IReadOnlyList<EnergyFigures> campus) =>
        [.. buildings.SelectMany(ReportLines.Of), .. campus.Select(ReportLines.Campus)];

    string Failed(string reason, DateOnly date, Exception error)
    {
        metrics.ReportFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));
        lastFailure = $"{LocalCalendar.FormatDate(date)}: {reason}: {error.Message}";
        if (failureLog.ShouldLog(reason, out var suppressed))
        {
            logger.LogWarning("Reports: day {Day} could not be computed ({Reason}: {Error}); it stays dirty and is tried again at the next tick ({Suppressed} more such lines held back)",
                LocalCalendar.FormatDate(date), reason, Text.ForLog(error.Message), suppressed);
        }

        return reason;
    }

    /// <summary>The campus calendar (cached per zone id); null, counted and logged when the registry's zone is unknown.</summary>
    LocalCalendar? CalendarOf(CampusRegistry current)
    {
        var zone = current.Campus.TimeZone;
        if (calendar is { } known && string.Equals(known.Zone, zone, StringComparison.Ordinal))
        {
            return known.Calendar;
        }

        try
        {
            var cal = LocalCalendar.ForZone(zone);
            calendar = (zone, cal);
            return cal;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            metrics.ReportFailures.Add(1, new KeyValuePair<string, object?>("reason", "calendar"));
            if (failureLog.ShouldLog("calendar", out var suppressed))
            {
                logger.LogError("Reports: the campus time zone {Zone} is not known to this node ({Error}); no report is computed ({Suppressed} more such lines held back)",
                    Text.ForLog(zone), ex.Message, suppressed);
            }

            return null;
        }
    }

    async Task SaveAsync()
    {
        state.State.DirtyDays = [.. dirty.Select(d => LocalCalendar.FormatDate(d))];
        metrics.SetReportDirtyDays(dirty.Count);
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The set stays in memory and is written with the next change; lost only if this node dies before.
            metrics.ReportFailures.Add(1, new KeyValuePair<string, object?>("reason", "state"));
            if (failureLog.ShouldLog("state", out var suppressed))
            {
                logger.LogWarning("Reports: the dirty days could not be saved ({Error}); kept in memory and saved with the next change ({Suppressed} more such lines held back)",
                    ex.Message, suppressed);
            }
        }
    }

    Task KeepReminderAsync() => Options.Enabled ? keepAlive.EnsureAsync(this, reminderOptions.Value, logger) : Task.CompletedTask;
}
